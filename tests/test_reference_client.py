"""The reference client driven through the guide's flows; every trace it writes is judged
complete and conformant by the validator."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from exovoice.reference.net.simplatform import Platform
from exovoice.reference.sdk.call import Call
from exovoice.reference.sdk.client import ExotelVoiceClient
from exovoice.reference.sdk.core import ExotelVoiceError
from exovoice.reference.targets.adapter import ReferenceAdapter
from exovoice.spec.validate.run import Options, judge_file
from exovoice.spec.vocabulary import CallAudioRoute, CallEndReason, CallState, ErrorType


class Recorder:
    """A listener for both interfaces that notes every callback by name."""

    def __init__(self) -> None:
        self.got: list[tuple[str, tuple[Any, ...]]] = []
        self.calls: list[Call] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("on"):
            raise AttributeError(name)

        def note(*args: Any) -> None:
            if name != "onLog":
                self.got.append((name, args))
        return note

    def names(self) -> list[str]:
        return [n for n, _ in self.got]


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    return tmp_path / "trace.jsonl"


def judged(path: Path) -> None:
    verdict = judge_file(path, Options(complete=True))
    assert verdict.conformant, (verdict.violations, path.read_text())


def make(trace: Path, *, callkit: bool = False, platform: Platform | None = None
         ) -> tuple[ExotelVoiceClient, Recorder]:
    client = ExotelVoiceClient(callkit=callkit, platform=platform, trace=trace)
    rec = Recorder()
    client.setEventListener(rec)
    client.getCallController().setCallListener(rec)
    return client, rec


def init(client: ExotelVoiceClient, name: str = "alice", token: str | None = None) -> None:
    client.initialize(None, "sip.example", name, name, "acct",
                      token or client.platform.issue_token(name))
    assert client.settle()


def test_outgoing_ringing_answer_hangup(trace: Path) -> None:
    with make(trace)[0] as client:
        rec: Recorder = client._event_listener  # type: ignore[assignment]
        init(client)
        assert client.isInitialized()
        call = client.getCallController().dial("sip:08040408080", "order:42")
        client.settle()
        assert call.getCallDetails().callState == CallState.OUTGOING_INITIATED
        assert call.getCallDetails().sessionId
        client.simulate_network("net_ringing")
        client.settle()
        assert call.getCallState() == CallState.RINGING
        client.simulate_network("net_answered")
        client.settle()
        assert call.getAudioRoute() == CallAudioRoute.EARPIECE
        call.enableSpeaker()
        assert call.getAudioRoute() == CallAudioRoute.SPEAKER
        call.sendDtmf("5")
        with pytest.raises(ExotelVoiceError) as e:
            call.sendDtmf("x")
        assert e.value.error_type == ErrorType.INVALID_PARAMETER
        assert call.getStatistics().codec == "opus"
        call.hangup()
        client.settle()
        details = client.getCallController().getLatestCallDetails()
        assert details is not None and details.callEndReason == CallEndReason.LOCAL_HANGUP
        assert details.callState == CallState.ENDED and details.callEndedTime is not None
        call.postFeedback(5, "NO_ISSUE")
        with pytest.raises(ExotelVoiceError) as e:
            call.postFeedback(7, "ECHO")
        assert e.value.error_type == ErrorType.INVALID_PARAMETER
    assert rec.names() == ["onInitializationSuccess", "onCallInitiated", "onCallRinging",
                           "onCallEstablished", "onCallEnded"]
    judged(trace)


@pytest.mark.parametrize("cause,callback,reason", [
    ("net_busy", "onCallEnded", "BUSY"),
    ("net_no_answer", "onCallEnded", "TIMEOUT"),
    ("net_unreachable", "onCallEnded", "UNREACHABLE"),
    ("net_congestion", "onCallFailed", "CONGESTION_ERROR"),
])
def test_outgoing_fails_from_the_network(trace: Path, cause: str, callback: str,
                                         reason: str) -> None:
    client, rec = make(trace)
    with client:
        init(client)
        call = client.getCallController().dial("sip:1")
        client.simulate_network("net_ringing")
        client.simulate_network(cause)
        client.settle()
        name, args = rec.got[-1]
        assert name == callback
        if callback == "onCallFailed":
            assert args[1].error_type == ErrorType.CONGESTION_ERROR
        else:
            assert call.getCallDetails().callEndReason.value == reason
        # the SDK is idle again: a new call may be dialled
        again = client.getCallController().dial("sip:2")
        again.hangup()
        client.settle()
    judged(trace)


def test_refusals(trace: Path) -> None:
    client, _ = make(trace)
    with client:
        ctl = client.getCallController()
        for op in (lambda: ctl.dial("sip:1"),
                   lambda: client.relaySessionData(client.platform.issue_push("alice"))):
            with pytest.raises(ExotelVoiceError) as e:
                op()
            assert e.value.error_type == ErrorType.SDK_UNINITIALIZED
        init(client)
        with pytest.raises(ExotelVoiceError) as e:
            ctl.dial("sip:1", "hi!")
        assert e.value.error_type == ErrorType.INVALID_PARAMETER
        with pytest.raises(ExotelVoiceError) as e:
            ctl.dial("")
        assert e.value.error_type == ErrorType.INVALID_DIAL_INFO
        call = ctl.dial("sip:1", "a,b:(c)[d]{e}")
        with pytest.raises(ExotelVoiceError) as e:
            ctl.dial("sip:2")
        assert e.value.error_type == ErrorType.SYSTEM_BUSY
        with pytest.raises(ExotelVoiceError) as e:
            client.stop()
        assert e.value.error_type == ErrorType.SYSTEM_BUSY
        with pytest.raises(ExotelVoiceError):
            call.answer()  # not an incoming call
        call.hangup()
        client.settle()
        call.mute()  # no live call: a no-op (AUDIO-LIVE; FACTS: mute() never throws)
        assert call.getCallState() == CallState.ENDED
        client.simulate_env("pstnDialed")
        client.settle()
        with pytest.raises(ExotelVoiceError) as e:
            ctl.dial("sip:3")
        assert e.value.error_type == ErrorType.PSTN_CALL_INPROGRESS
        client.simulate_env("pstnEnded")
        with pytest.raises(ExotelVoiceError) as e:
            client.relaySessionData({"payload": "not-a-jwt", "payloadVersion": 1,
                                     "subscriberName": "alice"})
        assert e.value.error_type == ErrorType.PAYLOAD_ERROR
        forged = Platform().issue_push("alice")  # signed with another platform's key
        with pytest.raises(ExotelVoiceError) as e:
            client.relaySessionData(forged)
        assert e.value.error_type == ErrorType.PAYLOAD_ERROR
        with pytest.raises(ExotelVoiceError):
            client.relaySessionData(client.platform.issue_push("bob") | {"subscriberName": "bob"})
        client.stop()
        client.settle()
        assert not client.isInitialized()
    judged(trace)


def test_incoming_answer_and_decline(trace: Path) -> None:
    client, rec = make(trace)
    with client:
        init(client)
        assert client.relaySessionData(client.platform.issue_push("alice", "+9180"))
        client.settle()
        name, (call,) = rec.got[-1]
        assert name == "onIncomingCall" and call.remote_id == "+9180"
        call.answer()
        client.settle()
        assert rec.names()[-1] == "onCallEstablished"
        client.simulate_network("net_rtp_lost")
        client.simulate_network("net_rtp_renewing")
        client.simulate_network("net_rtp_restored")
        client.simulate_network("net_remote_hangup")
        client.settle()
        assert rec.names()[-4:] == ["onMediaDisrupted", "onRenewingMedia", "onCallEstablished",
                                    "onCallEnded"]
        assert call.getCallDetails().callEndReason == CallEndReason.REMOTE_HANGUP
        client.relaySessionData(client.platform.issue_push("alice"))
        client.settle()
        declined = rec.got[-1][1][0]
        declined.hangup()  # decline
        client.settle()
        assert declined.getCallDetails().callEndReason == CallEndReason.LOCAL_HANGUP
        with pytest.raises(ExotelVoiceError):
            call.hangup()  # a detached Call object
    judged(trace)


def test_missed_calls(trace: Path) -> None:
    client, rec = make(trace)
    with client:
        init(client)
        client.simulate_env("pstnRinging")
        client.simulate_env("pstnAnswered")
        client.settle()
        assert client.relaySessionData(client.platform.issue_push("alice", "+91555"))
        client.settle()
        assert rec.got[-1][0] == "onMissedCall" and rec.got[-1][1][0] == "+91555"
        assert isinstance(rec.got[-1][1][1], datetime)
        client.simulate_env("pstnEnded")
        # a push whose session is over before it could be announced
        client.relaySessionData(client.platform.issue_push("alice", "+91666", ttl=-1))
        client.settle()
        assert rec.got[-1][0] == "onMissedCall" and client.latest_call is None
        # a push while a call exists
        call = client.getCallController().dial("sip:1")
        client.relaySessionData(client.platform.issue_push("alice", "+91777"))
        client.settle()
        assert rec.got[-1] [0] == "onMissedCall"
        call.hangup()
        client.settle()
    assert "onIncomingCall" not in rec.names()
    judged(trace)


def test_pstn_accepted_terminates_voip(trace: Path) -> None:
    client, rec = make(trace)
    with client:
        init(client)
        call = client.getCallController().dial("sip:1")
        client.simulate_network("net_answered")
        client.simulate_env("pstnRinging")
        client.simulate_env("pstnAnswered")
        client.simulate_env("pstnEnded")
        client.settle()
        assert rec.names()[-1] == "onCallEnded"
        assert call.getCallDetails().callEndReason == CallEndReason.PSTN_HANGUP
    judged(trace)


def test_pstn_declined_voip_continues_and_media_timeout(trace: Path) -> None:
    client, rec = make(trace)
    with client:
        init(client)
        call = client.getCallController().dial("sip:1")
        client.simulate_network("net_answered")
        client.simulate_env("pstnRinging")
        client.simulate_env("pstnDeclined")
        client.simulate_network("net_rtp_lost")
        client.simulate_network("net_media_timeout")
        client.settle()
        assert call.getCallDetails().callEndReason == CallEndReason.MEDIA_TIMEOUT
    judged(trace)


def test_token_expired_then_reinitialize(trace: Path) -> None:
    platform = Platform()
    client, rec = make(trace, platform=platform)
    with client:
        init(client, token=platform.issue_token("alice", ttl=-1))
        assert rec.got[-1][0] == "onAuthenticationFailure"
        assert rec.got[-1][1][0].error_type == ErrorType.AUTHENTICATION_EXPIRED_TOKEN
        assert not client.isInitialized()
        init(client, token="garbage")
        assert rec.got[-1][1][0].error_type == ErrorType.AUTHENTICATION_INVALID_TOKEN
        init(client)
        assert client.isInitialized() and rec.names()[-1] == "onInitializationSuccess"
        with pytest.raises(ExotelVoiceError):
            client.initialize(None, "h", "not valid!", "x", "a", "t")
        platform.fail_next_init = True
        init(client)
        assert rec.names()[-1] == "onInitializationFailure"
        init(client)
        assert client.isInitialized()
    judged(trace)


def test_upload_logs_and_reset(trace: Path) -> None:
    platform = Platform()
    client, rec = make(trace, platform=platform)
    with client:
        with pytest.raises(ExotelVoiceError) as e:
            client.uploadLogs(datetime.now(timezone.utc), datetime.now(timezone.utc))
        assert e.value.error_type == ErrorType.SDK_UNINITIALIZED
        init(client)
        now = datetime.now(timezone.utc)
        assert len(client.logs.between(now - timedelta(minutes=1), now)) >= 1
        client.uploadLogs(now - timedelta(hours=1), now, "no audio")
        client.settle()
        assert rec.names()[-1] == "onUploadLogSuccess"
        platform.fail_uploads = True
        client.uploadLogs(now - timedelta(hours=1), now, "again")
        client.settle()
        assert rec.names()[-1] == "onUploadLogFailure"
        client.getCallController().dial("sip:1")
        client.reset()  # ends the call, then deinitializes
        client.settle()
        assert rec.names()[-2:] == ["onCallEnded", "onDeinitialized"]
        assert not client.isInitialized()
    judged(trace)


def test_listener_errors_do_not_stop_the_sdk(trace: Path) -> None:
    class Bad:
        def onInitializationSuccess(self) -> None:  # noqa: N802
            raise RuntimeError("app bug")

    client = ExotelVoiceClient(trace=trace)
    with client:
        client.setEventListener(Bad())
        init(client)
        assert client.isInitialized() and len(client.listener_errors) == 1
    judged(trace)


def test_callbacks_run_on_the_dispatcher_thread_and_close_joins(trace: Path) -> None:
    seen: list[str] = []

    class L:
        def onInitializationSuccess(self) -> None:  # noqa: N802
            seen.append(threading.current_thread().name)

    before = threading.active_count()
    client = ExotelVoiceClient(trace=trace)
    client.setEventListener(L())
    init(client)
    client.close()
    assert seen == ["exovoice-dispatcher"]
    assert threading.active_count() == before


# --- CallKit -------------------------------------------------------------------------------

def ck_adapter(trace: Path) -> ReferenceAdapter:
    a = ReferenceAdapter(trace=trace)
    a.hello(callkit=True)
    assert a.api("initialize", args={"subscriberName": "alice"}).ok
    return a


def names(a: ReferenceAdapter) -> list[str]:
    out = []
    q = a.events()
    while not q.empty():
        out.append(q.get()["name"])
    return out


def test_callkit_outgoing(trace: Path) -> None:
    a = ck_adapter(trace)
    try:
        r = a.api("dial", args={"remoteId": "sip:1"})
        assert r.ok and r.call == "c1"
        a.stimulus("CXStartCallAction", args={"uuid": "U-1"})
        a.stimulus("net_ringing")
        a.stimulus("net_answered")
        a.stimulus("CXSetMutedCallAction", args={"muted": True})
        a.stimulus("CXSetHeldCallAction")
        a.stimulus("CXEndCallAction")
        got = names(a)
        assert got == ["onInitializationSuccess", "onCallInitiated", "CXStartCallAction",
                       "actionFulfilled", "onCallRinging", "reportOutgoingCallStartedConnecting",
                       "onCallEstablished", "reportOutgoingCallConnected",
                       "CXSetMutedCallAction", "mute", "actionFulfilled", "CXSetHeldCallAction",
                       "actionFulfilled", "CXEndCallAction", "hangup", "actionFulfilled",
                       "onCallEnded"]
    finally:
        a.close()
    judged(trace)


def test_callkit_incoming_and_push(trace: Path) -> None:
    a = ck_adapter(trace)
    try:
        assert a.api("relaySessionData").ok
        a.stimulus("CXAnswerCallAction")
        a.stimulus("net_remote_hangup")
        assert names(a)[1:] == ["onIncomingCall", "reportNewIncomingCall", "CXAnswerCallAction",
                                "answer", "actionFulfilled", "onCallEstablished",
                                "reportOutgoingCallConnected", "onCallEnded", "reportCallEnded"]
        a.stimulus("voipPushReceived")
        a.stimulus("CXEndCallAction")  # the user rejects it
        assert names(a) == ["voipPushReceived", "relaySessionData", "reportNewIncomingCall",
                            "voipPushCompleted", "onIncomingCall", "CXEndCallAction", "hangup",
                            "actionFulfilled", "onCallEnded"]
        # with CallKit a PSTN call does not end the VoIP call: the user resolves it
        a.api("dial", args={"remoteId": "sip:2"})
        a.stimulus("net_answered")
        a.stimulus("pstnRinging")
        a.stimulus("pstnAnswered")
        a.stimulus("providerDidReset")
        a.stimulus("pstnEnded")
        assert names(a)[-3:] == ["providerDidReset", "hangup", "onCallEnded"]
    finally:
        a.close()
    judged(trace)


def test_adapter_token_control_and_queries(trace: Path) -> None:
    a = ReferenceAdapter(trace=trace)
    a.hello(callkit=False)
    try:
        a.api("initialize", args={"subscriberName": "alice"})
        a.stimulus("token_expired")
        assert names(a) == ["onInitializationSuccess", "onAuthenticationFailure"]
        assert a.api("dial", args={"remoteId": "sip:1"}).result == "SDK_UNINITIALIZED"
        a.api("initialize", args={"subscriberName": "alice"})  # a fresh token
        assert a.api("isInitialized").value is True
        r = a.api("dial", args={"remoteId": "sip:1"})
        assert a.api("getCallState", call=r.call).value == "OUTGOING_INITIATED"
        assert a.api("getCallDetails", call=r.call).value["remoteId"] == "sip:1"
        assert a.api("postFeedback", call=r.call, args={"rating": 3, "issue": "ECHO"}).result \
            == "INVALID_PARAMETER"  # not ended yet
        a.api("hangup", call=r.call)
        assert a.api("postFeedback", call=r.call, args={"rating": 7, "issue": "ECHO"}).result \
            == "INVALID_PARAMETER"
        assert "onCallEnded" in names(a)
    finally:
        a.close()
    judged(trace)


def test_media_manual_keeps_answering_observable(trace: Path) -> None:
    a = ReferenceAdapter(trace=trace)
    a.hello(callkit=False)
    try:
        a.api("initialize", args={"subscriberName": "alice"})
        a.stimulus("media_manual")
        r = a.api("relaySessionData")
        a.api("answer", call=r.call)
        assert a.api("getCallState", call=r.call).value == "ANSWERING"
        a.stimulus("net_answered")
        assert a.api("getCallState", call=r.call).value == "ESTABLISHED"
        a.api("hangup", call=r.call)
    finally:
        a.close()
    judged(trace)


def test_network_seam_carries_the_calls(trace: Path) -> None:
    """A network given to the client (exovoice.reference.net.seam.CallNetwork) is told what to do after
    each accepted call operation, and what it posts through its link reaches the app."""
    from exovoice.reference.net.seam import NetworkLink
    from exovoice.reference.net.simnet import SimNet
    from exovoice.reference.sdk.call import CallStatistics

    class Spy(SimNet):
        def __init__(self, platform: Platform) -> None:
            super().__init__(platform)
            self.asked: list[tuple[Any, ...]] = []
            self.link: NetworkLink | None = None

        def attach(self, link: NetworkLink) -> None:
            super().attach(link)
            self.link = link

        def place(self, call: Call, remote_id: str, message: str | None, token: Any) -> None:
            self.asked.append(("place", call.id, remote_id, message, token))
            super().place(call, remote_id, message, token)

        def end(self, call: Call) -> None:
            self.asked.append(("end", call.id))
            super().end(call)

        def statistics(self, call: Call) -> CallStatistics:
            self.asked.append(("statistics", call.id))
            return super().statistics(call)

        def close(self) -> None:
            self.asked.append(("close",))

    platform = Platform()
    spy = Spy(platform)
    client = ExotelVoiceClient(platform=platform, trace=trace, network=spy)
    assert client.network is spy and spy.link is not None
    rec = Recorder()
    client.setEventListener(rec)
    client.getCallController().setCallListener(rec)
    init(client)
    token = client._token
    call = client.getCallController().dial("+918047112327", "hi")
    assert client.settle()
    assert spy.link.current_call() is call
    spy.link.post("net_ringing", call)  # a happening of the current call reaches the app
    spy.link.post("net_answered", call, still=lambda: False)  # one no longer wanted does not
    assert client.settle()
    assert rec.names()[-2:] == ["onCallInitiated", "onCallRinging"]
    call.getStatistics()
    call.hangup()
    assert client.settle()
    assert rec.names()[-1] == "onCallEnded"
    client.close()
    assert spy.asked == [("place", call.id, "+918047112327", "hi", token),
                         ("statistics", call.id), ("end", call.id), ("close",)]
    judged(trace)
