"""A phone: the sample app around a SipVoiceClient, in its own process (pjsua2 allows one
Endpoint per process, so two phones are two processes).

    python -m exovoice.reference.app.phone --exophone SIP_URI --sessions-url URL \\
        --subscriber NAME --device-id ID --trace PATH [--tokens -|FILE] [--answer-after S] \\
        [--hostname H] [--account-sid SID] [--max-lifetime S]

The subscriber's token reaches it the way an app gets it from its backend, never on the command
line: `--tokens -` (the default) is a JSON object `{"refresh_token": ...}` on the first line of
stdin, `--tokens FILE` the same in a file only this user may read. The phone holds no key of
the platform's: it obtains its access token through the platform's API with the refresh token
(DevicePlatform.refresh, guide 5.2, 9.3), signs the subscriber in (initialize: the SDK
registers with the platform, which checks the token), and on onAuthenticationFailure with
AUTHENTICATION_EXPIRED_TOKEN obtains a new one and initializes again (guide 6). Then it prints
JSON lines on stdout for whoever drives it:

  {"event": "ready", "subscriber", "uri", "trace", "pid"}        signed in (or "error" and exit 2)
  {"event": "trace", "line": {...}, "callState": "RINGING"|null}  every line the SDK's trace
        gains after the meta line (the app's API calls, the SDK's callbacks), with the call
        state the SDK is in once that line happened
  {"event": "dropped", "reason", "push"}                          a push the app did not relay
  {"event": "answering", "after": S}                              the user will pick up in S s
  {"event": "renewed"}                                            a new access token, initialize again
  {"event": "error", "error"}                                     something the app could not do
  {"event": "reply", "cmd", "ok", ...}                            one per command
  {"event": "exit"}                                               the last line

Commands on stdin, one JSON object a line:

  {"cmd": "dial", "to": "bob", "message": "..."}   CallController.dial
  {"cmd": "push", "push": {...}}   the push channel delivers a data message to this device; the
        app relays it to the SDK only when `app_should_relay` says it is for the signed-in user
  {"cmd": "answer"}  {"cmd": "hangup"}              on the latest call
  {"cmd": "stats"}    the latest call's CallStatistics and CallDetails
  {"cmd": "quit"}

EOF on stdin, SIGTERM or SIGINT close the client (trace flushed, pjsua2 destroyed) before the
`exit` line, so a driver that waits for `exit` can judge the trace file at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from ..procs.process import (
    JsonLines,
    SecretsError,
    private_stdout,
    read_private_json,
    stop_on_signals,
)

if TYPE_CHECKING:
    from ..sdk.listeners import CallListener, ExotelVoiceClientEventListener

READY_TIMEOUT = 10.0


class Phone:
    """The app: signs in, relays pushes meant for it, answers when told (or by itself after
    `answer_after` seconds, like a user picking up), and reports everything as JSON lines."""

    def __init__(self, args: argparse.Namespace, out: IO[str], refresh_token: str) -> None:
        from ..backend.pushchannel import app_should_relay, relay_data
        from ..net.platformapi import DevicePlatform
        from ..net.sipnet import SipNet
        from ..sdk.sip_client import SipVoiceClient

        self._should_relay = app_should_relay
        self._relay_data = relay_data
        self.args = args
        self.done = threading.Event()
        self.channel = JsonLines(out, self.done)
        self.signed_in = threading.Event()
        self.sign_in_error: str | None = None
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()
        self._refresh_token = refresh_token
        net = SipNet(args.exophone, sessions_url=args.sessions_url)
        # The platform as the device reaches it: its API, with this device's tokens only.
        self.platform = platform = DevicePlatform(args.sessions_url, args.device_id)
        self.client = SipVoiceClient(net, trace=Path(args.trace), platform=platform)
        self.client.observe_trace(self._observe)
        # The guide's listeners have do-nothing defaults (the client calls only what a
        # listener has): the app implements the callbacks it acts on.
        self.client.setEventListener(cast("ExotelVoiceClientEventListener", self))
        self.client.getCallController().setCallListener(cast("CallListener", self))

    def say(self, **obj: Any) -> None:
        self.channel.say(**obj)

    # --- what the SDK does, as the driver sees it -----------------------------------------
    def _observe(self, line: dict[str, Any], thread: str) -> None:
        """Called with the SDK's lock held, right after the line was written: the call state
        read here is the one that line led to."""
        if line.get("kind") == "meta":
            return
        state = self.client._core.call_state()
        self.say(event="trace", line=line, callState=state.value if state else None)

    # --- ExotelVoiceClientEventListener ---------------------------------------------------
    def onInitializationSuccess(self) -> None:  # noqa: N802
        self.signed_in.set()

    def onInitializationFailure(self, error: Any) -> None:  # noqa: N802
        self.sign_in_error = f"initialization failed: {error.error_type.value}"
        self.signed_in.set()

    def onAuthenticationFailure(self, error: Any) -> None:  # noqa: N802
        if not self.signed_in.is_set():
            self.sign_in_error = f"authentication failed: {error.error_type.value}"
            self.signed_in.set()
        elif error.error_type.value == "AUTHENTICATION_EXPIRED_TOKEN" and not self.done.is_set():
            # what the guide asks of the app (section 6): a new token, then initialize again
            threading.Thread(target=self._renew, name="phone-renew", daemon=True).start()

    def _renew(self) -> None:
        from ..net.platformapi import RefreshRefused

        try:
            token = self.platform.refresh(self._refresh_token)
        except RefreshRefused as exc:
            self.say(event="error", error=f"token refresh refused: {exc.error_type}: {exc}")
            return
        self.say(event="renewed")
        self._initialize(token)

    # --- CallListener ---------------------------------------------------------------------
    def onIncomingCall(self, call: Any) -> None:  # noqa: N802
        after = self.args.answer_after
        if after is None:
            return
        self.say(event="answering", after=after, call=call.id)
        timer = threading.Timer(after, self._answer_later, args=(call,))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def _answer_later(self, call: Any) -> None:
        """The user picks up; the caller may have given up meanwhile, which is no crash."""
        if self.done.is_set():
            return
        try:
            call.answer()
        except Exception as exc:  # noqa: BLE001 - reported, the phone keeps running
            self.say(event="error", error=f"answer: {exc}")

    # --- commands -------------------------------------------------------------------------
    def command(self, obj: dict[str, Any]) -> dict[str, Any]:
        cmd = obj.get("cmd")
        if cmd == "quit":
            self.done.set()
            return {}
        if cmd == "dial":
            call = self.client.getCallController().dial(str(obj["to"]), obj.get("message"))
            return {"call": call.id}
        if cmd == "push":
            return self._push(obj.get("push"))
        if cmd not in ("answer", "hangup", "stats"):
            raise ValueError(f"unknown command {cmd!r}")
        latest = self.client.latest_call
        if latest is None:
            raise ValueError("no call")
        if cmd == "answer":
            latest.answer()
        elif cmd == "hangup":
            latest.hangup()
        else:
            return {"call": latest.id, "stats": latest.getStatistics().as_json(),
                    "details": latest.getCallDetails().as_json()}
        return {"call": latest.id}

    def _push(self, push: Any) -> dict[str, Any]:
        """What an app does with a data message: only its signed-in user's pushes reach the
        SDK (a device can stay registered for someone who signed out on it)."""
        if not self._should_relay(push, self.args.subscriber):
            whom = push.get("subscriberName") if isinstance(push, dict) else None
            self.say(event="dropped", push=push,
                     reason=f"not a data message for {self.args.subscriber}"
                     + (f" (it is for {whom})" if whom else ""))
            return {"relayed": False}
        accepted = self.client.relaySessionData(self._relay_data(push))
        return {"relayed": True, "accepted": accepted}

    # --- life cycle -----------------------------------------------------------------------
    def _initialize(self, token: str) -> None:
        a = self.args
        self.client.initialize(hostname=a.hostname, subscriberName=a.subscriber,
                               displayName=a.subscriber, accountSid=a.account_sid,
                               subscriberToken=token)

    def run(self) -> int:
        from ..net.platformapi import RefreshRefused

        a = self.args
        try:
            token = self.platform.refresh(self._refresh_token)
        except RefreshRefused as exc:
            self.say(event="error", error=f"no access token: {exc.error_type}: {exc}")
            self.close()
            return 2
        self._initialize(token)
        if not self.signed_in.wait(READY_TIMEOUT) or self.sign_in_error:
            self.say(event="error", error=self.sign_in_error
                     or f"not signed in within {READY_TIMEOUT:.0f} s")
            self.close()
            return 2
        self.say(event="ready", subscriber=a.subscriber, uri=self.client.sipnet.uri,
                 trace=a.trace, pid=os.getpid())
        threading.Thread(target=self.channel.serve, args=(self.command,), name="phone-stdin",
                         daemon=True).start()
        deadline = time.monotonic() + a.max_lifetime
        while not self.done.wait(0.1):
            if time.monotonic() > deadline:
                self.say(event="error", error="max lifetime reached")
                break
        self.close()
        return 0

    def close(self) -> None:
        """Settle first so every callback already on its way is in the trace, then stop
        pjsua2 (a call still up is hung up by the endpoint)."""
        self.done.set()
        with self._lock:
            timers, self._timers = self._timers, []
        for t in timers:
            t.cancel()
        try:
            self.client.settle(5.0)
        finally:
            self.client.close()
        self.say(event="exit")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m exovoice.reference.app.phone",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--exophone", required=True,
                    help="the platform's SIP exophone URI outgoing calls INVITE")
    ap.add_argument("--sessions-url", required=True,
                    help="the platform account's API URL, where a pushed session is taken")
    ap.add_argument("--subscriber", required=True, help="the subscriber signed in on this phone")
    ap.add_argument("--device-id", required=True,
                    help="this device's id, the one its tokens were issued for")
    ap.add_argument("--tokens", default="-", metavar="-|FILE",
                    help='{"refresh_token": ...} on the first line of stdin (-, the default) '
                    "or in a file only this user may read")
    ap.add_argument("--trace", required=True, help="where the SDK writes its trace (v1)")
    ap.add_argument("--answer-after", type=float, default=None, metavar="S",
                    help="answer an incoming call S seconds after onIncomingCall")
    ap.add_argument("--hostname", default="127.0.0.1", help="initialize's hostname")
    ap.add_argument("--account-sid", default="", help="initialize's accountSid")
    ap.add_argument("--max-lifetime", type=float, default=300.0, metavar="S",
                    help="exit after this many seconds, should the driver vanish")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = private_stdout()  # before pjlib's first print
    try:
        tokens = read_private_json(args.tokens, "--tokens")
        refresh_token = tokens["refresh_token"]
        if not isinstance(refresh_token, str) or not refresh_token:
            raise SecretsError("--tokens: refresh_token must be a non-empty string")
    except KeyError:
        JsonLines(out, threading.Event()).say(event="error",
                                              error="--tokens: no refresh_token given")
        return 2
    except SecretsError as exc:
        JsonLines(out, threading.Event()).say(event="error", error=f"{exc}")
        return 2
    from ..sip.endpoint import HAVE_PJSUA2, IMPORT_ERROR

    if not HAVE_PJSUA2:
        JsonLines(out, threading.Event()).say(event="error",
                                              error=f"pjsua2 is not importable: {IMPORT_ERROR}")
        return 2
    try:
        phone = Phone(args, out, refresh_token)
    except Exception as exc:  # noqa: BLE001 - the driver reads one line, not a traceback
        JsonLines(out, threading.Event()).say(event="error",
                                              error=f"{type(exc).__name__}: {exc}")
        return 2
    stop_on_signals(phone.done)
    return phone.run()


if __name__ == "__main__":
    sys.exit(main())
