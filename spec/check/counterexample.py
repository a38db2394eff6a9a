"""A path of the explored graph written as a trace v1 file: the lines a client would have
written on it, with made-up ids (c1, c2, ... for calls, UUID-1, ... for CallKit calls) put
where the letters name them symbolically. Unobserved steps write nothing, as in a real trace,
so `exovoice validate` accepts the file (the path is one the spec allows) and a reader can
replay it."""

from __future__ import annotations

from pathlib import Path

from ..trace.recorder import TraceRecorder
from ..vocabulary import CALL_CALLBACKS, Kind
from .alphabet import ACTIVE, SECOND
from .space import Node, Space

_CALL_OPS = frozenset({"answer", "hangup", "mute", "unmute", "enableSpeaker", "disableSpeaker",
                       "enableBluetooth", "disableBluetooth", "sendDtmf", "postFeedback"})


def trace_text(sp: Space, node: Node, *, client: str = "exovoice-check") -> str:
    rec = TraceRecorder(None, callkit=sp.callkit, client=client)
    calls = 0
    current: str | None = None
    previous: str | None = None
    uuids = 0
    active: str | None = None
    second: str | None = None
    for _to, mv in sp.path(node):
        letter = sp.letters[mv.letter]
        if letter.internal:
            continue
        args = letter.params
        token = args.get("uuid")
        minted: str | None = None
        if token is not None:
            real = {ACTIVE: active, SECOND: second}.get(token)
            if real is None:  # N, or a symbol no CallKit call holds: a UUID never seen
                uuids += 1
                real = minted = f"UUID-{uuids}"
            args["uuid"] = real
        call: str | None = None
        eff = mv.call_effect
        if eff == "start":  # a dial names its call; a relayed push's is named when announced
            previous = current
            if letter.name == "dial":
                calls += 1
                current = f"c{calls}"
            else:
                current = None
        elif eff == "restore":
            current = previous
        elif eff == "announce" and current is None:
            calls += 1
            current = f"c{calls}"
        if letter.kind == Kind.API.value:
            if letter.name == "dial":
                call = current if eff == "start" else None
            elif letter.name in _CALL_OPS:
                call = current
            rec.api(letter.name, call=call, args=args or None, result=letter.result)
        elif letter.kind == Kind.CALLBACK.value:
            rec.callback(letter.name, call=current if letter.name in CALL_CALLBACKS else None,
                         args=args or None)
        elif letter.kind == Kind.ENV.value:
            rec.env(letter.name, args or None)
        elif letter.kind == Kind.CALLKIT.value:
            uuid = args.pop("uuid", None) or f"UUID-{uuids + 1}"
            rec.callkit(letter.name, uuid=uuid, args=args or None)
        if mv.uuid_effect is not None:
            # the CallKit calls after the move, by the symbol each held before it (the
            # letter's own when it named a new one)
            held = {ACTIVE: active, SECOND: second}
            if minted is not None:
                held[token] = minted
            active, second = (held.get(s) if s is not None else None for s in mv.uuid_effect)
    return rec.text()


def write(sp: Space, node: Node, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(trace_text(sp, node), encoding="utf-8")
    return path
