"""The letters the model checker and the explorer try: every event of the spec's vocabulary,
each with representative argument classes (valid, and each kind of invalid the guards tell
apart) and, for an API call, every result the spec's refusal rules name.

Ids are symbolic, as in the validator's compiled tables: a letter names "the current call",
and a CallKit UUID is the active call's (A), the second call's (S) or a new one (N). Only the
argument facts a guard reads get classes; everything else is one representative value.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..charts.step import ACTIVE, NEW, SECOND
from ..charts.system import REFUSALS
from ..vocabulary import (
    CALLKIT_ACTIONS,
    INTERNAL_EVENTS,
    OBSERVABLE_EVENTS,
    Api,
    CallAudioRoute,
    CallEndReason,
    CallKit,
    ErrorType,
    Kind,
)

VALID_NAME = "alice"
_DATES_OK = {"startDate": "2020-01-02", "endDate": "2020-01-03"}
_DATES_BAD = {"startDate": "2020-01-02", "endDate": "2020-01-01"}
_UUIDS = (ACTIVE, SECOND, NEW)

# argument classes: event -> [(class label, args)]; an event not listed takes no arguments
_ARGS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    Api.initialize.value: [("valid", {"subscriberName": VALID_NAME}),
                           ("name of 16+", {"subscriberName": "a" * 17})],
    Api.dial.value: [("valid", {"remoteId": "sip:1"}),
                     ("valid with message", {"remoteId": "sip:1", "message": "order:42"}),
                     ("forbidden message", {"remoteId": "sip:1", "message": "hi there!"}),
                     ("blank remoteId", {"remoteId": " "})],
    Api.relaySessionData.value: [("valid", {"payload": "p", "payloadVersion": 1,
                                            "subscriberName": VALID_NAME}),
                                 ("another subscriber", {"payload": "p", "payloadVersion": 1,
                                                         "subscriberName": "bob"})],
    Api.sendDtmf.value: [("valid", {"digit": "5"}), ("two digits", {"digit": "55"})],
    Api.postFeedback.value: [("valid", {"rating": 3, "issue": "NO_ISSUE"}),
                             ("rating 7", {"rating": 7, "issue": "NO_ISSUE"}),
                             ("unknown issue", {"rating": 3, "issue": "LOUD"})],
    Api.uploadLogs.value: [("valid", dict(_DATES_OK)), ("end before start", dict(_DATES_BAD))],
    Api.getAudioRoute.value: [(r, {"route": r}) for r in CallAudioRoute.names()],
    "onCallEnded": [("no reason", {})] + [(r, {"endReason": r}) for r in CallEndReason.names()],
    "onCallFailed": [(e, {"error": e}) for e in (ErrorType.CONGESTION_ERROR.value,
                                                 ErrorType.NETWORK_ERROR.value,
                                                 ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value)],
    "onAuthenticationFailure": [(e, {"error": e}) for e in (
        ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value, ErrorType.AUTHENTICATION_INVALID_TOKEN.value,
        ErrorType.INTERNAL_ERROR.value)],
    "onInitializationFailure": [("error", {"error": ErrorType.INTERNAL_ERROR.value})],
    "onUploadLogFailure": [("error", {"error": ErrorType.UPLOAD_LOG_FAILURE.value})],
    "onLog": [("valid", {"level": "INFO", "tag": "sip", "message": "x"}),
              ("unknown level", {"level": "LOUD", "tag": "sip", "message": "x"})],
    "onMissedCall": [("valid", {"remoteId": "sip:9"})],
}
for _name in CallKit.names():
    if _name == CallKit.providerDidReset.value:
        continue
    if _name in (CallKit.actionFulfilled.value, CallKit.actionFailed.value):
        _ARGS[_name] = [(f"{a} {u}", {"uuid": u, "action": a}) for a in CALLKIT_ACTIONS
                        for u in _UUIDS]
    elif _name == CallKit.CXSetMutedCallAction.value:
        _ARGS[_name] = [(f"{u} muted={b}", {"uuid": u, "muted": b}) for u in _UUIDS
                        for b in (True, False)]
    elif _name == CallKit.CXSetHeldCallAction.value:
        _ARGS[_name] = [(f"{u} onHold={b}", {"uuid": u, "onHold": b}) for u in _UUIDS
                        for b in (True, False)]
    else:
        _ARGS[_name] = [(u, {"uuid": u}) for u in _UUIDS]


@dataclass(frozen=True)
class Letter:
    """One thing that can happen: an event, its result and its arguments."""

    kind: str  # a trace kind, or "internal" for an unobserved network step
    name: str
    result: str = "ok"
    args: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.args)

    @property
    def internal(self) -> bool:
        return self.kind == INTERNAL

    def __str__(self) -> str:
        bits = self.name
        if self.args:
            bits += "(" + ", ".join(f"{k}={v!r}" for k, v in self.args) + ")"
        if self.result != "ok":
            bits += f" -> {self.result}"
        return bits


INTERNAL = "internal"


def refusal_errors(op: str, *, arguments: bool | None = None) -> tuple[str, ...]:
    """Every ErrorType a refusal rule of the spec names for `op` (its refused results): with
    `arguments` True only those of the rules that judge an argument (ARG-*, and SYS-PAYLOAD,
    which reads whom a push is for), with False only the others."""
    errors: set[str] = set()
    for r in REFUSALS:
        if op in r.ops and r.errors is not None:
            if arguments is None or arguments == _judges_arguments(r.rule.id):
                errors |= r.errors
    return tuple(sorted(errors))


def _judges_arguments(rule_id: str) -> bool:
    return rule_id.startswith("ARG-") or rule_id == "SYS-PAYLOAD"


@lru_cache(maxsize=2)
def alphabet(callkit: bool) -> tuple[Letter, ...]:
    """Every letter of the composed model, in vocabulary order (CallKit letters only with
    CallKit)."""
    out: list[Letter] = []
    for name, kind in OBSERVABLE_EVENTS.items():
        if kind is Kind.CALLKIT and not callkit:
            continue
        classes = _ARGS.get(name, [("", {})])
        refusable = kind is Kind.API and name != Api.getAudioRoute.value
        for n, (label, args) in enumerate(classes):
            # the first class is valid: it is refused for every reason the state gives; an
            # invalid class only for the reasons that judge its arguments
            results = ("ok",) + ((refusal_errors(name, arguments=n > 0) if refusable else ()))
            for result in dict.fromkeys(results):
                out.append(Letter(kind.value, name, result, tuple(sorted(args.items())), label))
    out += [Letter(INTERNAL, ev) for ev in INTERNAL_EVENTS]
    return tuple(out)
