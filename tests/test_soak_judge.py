"""The soak's bookkeeping (bench/soak.py judge) on made-up CDRs: the front moves a call a
worker refused 503 on to the next worker, so one SIP call may leave a refusal CDR and a final
one; it must never leave two final ones, and calls refused everywhere are sipp's 503s."""

from __future__ import annotations

from bench.soak import judge

RUN = {"calls": 3, "final_answers": {"200": 2, "503": 1}, "failed": 0, "elapsed_s": 1.0}


def cdr(sid: str, call_id: str, status: str, refused: bool = False) -> dict:
    return {"call_sid": sid, "sip_call_id": call_id, "custom_field": "answered",
            "status": "failed" if refused else status,
            "failure_reason": "over capacity" if refused else None}


def verdict(cdrs: list[dict]) -> list[str]:
    return judge({"answered": RUN}, cdrs, {}, {}, {"w1": True}, {}, 1, 3, 2, None)["failures"]


def test_a_call_moved_on_after_a_worker_refused_it_is_one_call() -> None:
    cdrs = [cdr("a1", "x", "", refused=True), cdr("b1", "x", "completed"),
            cdr("b2", "y", "completed"), cdr("a2", "z", "", refused=True)]
    assert verdict(cdrs) == []


def test_two_final_cdrs_for_one_sip_call_are_a_failure() -> None:
    cdrs = [cdr("a1", "x", "completed"), cdr("b1", "x", "completed"),
            cdr("a2", "z", "", refused=True)]
    assert any("more than one final CDR" in f for f in verdict(cdrs))


def test_more_calls_refused_everywhere_than_sipp_saw_503s_is_a_failure() -> None:
    cdrs = [cdr("a1", "x", "completed"), cdr("b1", "y", "completed"),
            cdr("a2", "z", "", refused=True), cdr("a3", "w", "", refused=True)]
    assert any("refused by every worker" in f for f in verdict(cdrs))


def test_dave_s_invites_come_in_the_order_they_arrived_not_by_worker() -> None:
    """The outage round pauses RTP on the worker carrying dave's call: of one call's INVITEs
    (a worker's 503, then the next worker) that is the last to arrive. Read in the workers'
    order instead, the refusing worker came last once and the round asked it for a call it
    never bridged."""
    from types import SimpleNamespace

    from bench.soak import CALLER, Clients

    first = SimpleNamespace(name="w1", timed=[
        {"event": "invite", "subscriber": CALLER, "call_sid": "carried", "rx": 2.0}])
    second = SimpleNamespace(name="w2", timed=[
        {"event": "invite", "subscriber": CALLER, "call_sid": "refused", "rx": 1.0},
        {"event": "invite", "subscriber": "alice", "call_sid": "other", "rx": 3.0}])
    clients = Clients.__new__(Clients)
    got = clients._invites([first, second])  # type: ignore[list-item]
    assert [sid for _, sid in got] == ["refused", "carried"]
    assert got[-1][0] is first
