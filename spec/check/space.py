"""The state space of the composed model within a bound: every configuration reachable from
the initial one, and every transition between them.

The model's own behaviour does not depend on how many calls came before (ids are symbolic),
so the expensive part, driving python-statemachine, is done once per model configuration and
letter; the bound (calls started, PSTN calls started) is a cheap counter on top. A letter is
tried only where some region has an edge for its event (or it is a refused API call, which
the api region may always take), which skips most of the alphabet in most configurations
without changing what is found.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..base import SpecViolation
from ..charts.model import ClientModel, Snapshot, transitions_of
from ..vocabulary import Env
from .alphabet import ACTIVE, NEW, SECOND, Letter, alphabet

MKey = tuple  # a model configuration with its data (ClientModel.key())
Node = tuple[int, int, int]  # (model configuration index, calls started, PSTN calls started)
_PSTN_STARTS = frozenset({Env.pstnRinging.value, Env.pstnDialed.value})


@dataclass(frozen=True)
class Bound:
    """How far the exploration goes: calls started, PSTN calls started, and how many of one
    kind of answer may be owed at once (declined pushes owed onMissedCall, uploads owed an
    answer; the spec counts them without limit)."""

    calls: int = 3
    pstn: int = 2
    owed: int = 2

    def admits(self, snap: Snapshot) -> bool:
        return snap.vars.missed_owed <= self.owed and snap.vars.uploads <= self.owed


@dataclass(frozen=True)
class Move:
    """A letter the model takes from one configuration, and where it leads."""

    letter: int  # index in the alphabet
    target: int  # model configuration index
    fired: tuple[str, ...]  # transition ids taken
    rules: tuple[str, ...]  # the rules behind it (tagged transitions, or the refusal rule)
    call_effect: str | None
    uuid_effect: str | None


def _sources() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for t, spec in transitions_of(ClientModel):
        if spec.rule.id == "API-REFUSAL":
            continue
        for ev in t.events:
            out.setdefault(str(ev), set()).add(t.source.value)
    return {ev: frozenset(s) for ev, s in out.items()}


@dataclass
class Space:
    """The explored graph: model configurations (interned), moves from each, and the nodes
    (configuration, calls, PSTN calls) reached within the bound, with a BFS parent each so a
    shortest path to any node can be read back."""

    callkit: bool
    bound: Bound
    letters: tuple[Letter, ...]
    which: str | None = None
    snaps: list[Snapshot] = field(default_factory=list)
    keys: dict[MKey, int] = field(default_factory=dict)
    moves: dict[int, list[Move]] = field(default_factory=dict)
    cited: dict[str, int] = field(default_factory=dict)  # rule -> times a guard cited it
    nodes: dict[Node, int] = field(default_factory=dict)  # node -> index in order
    order: list[Node] = field(default_factory=list)
    parent: dict[Node, tuple[Node, int] | None] = field(default_factory=dict)
    edges: dict[Node, list[tuple[int, Node]]] = field(default_factory=dict)  # node -> (move#, node)
    fires: int = 0
    seconds: float = 0.0

    @property
    def transitions(self) -> int:
        return sum(len(v) for v in self.edges.values())

    def path(self, node: Node) -> list[tuple[Node, Move]]:
        """The shortest sequence of moves from the initial node to `node`."""
        out: list[tuple[Node, Move]] = []
        while True:
            p = self.parent[node]
            if p is None:
                return out[::-1]
            prev, move_no = p
            out.append((node, self.moves[prev[0]][move_no]))
            node = prev


def _region_of() -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(state: object, region: str) -> None:
        for child in getattr(state, "states", ()):
            out[child.value] = region
            walk(child, region)

    for region in ClientModel.client.states:  # type: ignore[attr-defined]
        walk(region, region.id)
    return out


REGION_OF = _region_of()
# The device side: regions about the phone around the call (audio route, Bluetooth, wired
# headset, data network, log uploads, the log listener). Their events change no call-side
# state and the call side's none of theirs, so each side is explored on its own with the
# other held still, instead of as a product of both (which multiplies what is enumerated by
# every combination of the two): see `slice_letters`.
DEVICE_REGIONS = frozenset({"logs", "bluetooth", "network", "audio", "listener"})
LOG_REGIONS = frozenset({"logs", "listener"})  # the device side's own two halves:
AUDIO_REGIONS = DEVICE_REGIONS - LOG_REGIONS  # logs apart from the audio route and network
# The life cycle (initialize, reset, stop, token failures) is explored beside the calls too:
# each with a small frame of the other (initialized; a call that is dialled, established and
# ended), so the product of every life-cycle state with every call state is not enumerated.
LIFECYCLE_REGIONS = frozenset({"lifecycle"})
FRAMES: dict[str, tuple[tuple[str, str], ...]] = {
    # the device side and the life cycle need a call to act on (a live one, then an ended
    # one), with what it takes to end it and to answer a declined push (so that what the
    # slice owes can be met inside it)
    "call": (("dial", "valid"), ("onCallInitiated", ""), ("onCallRinging", ""),
             ("onCallEstablished", ""), ("hangup", ""), ("onCallEnded", "no reason"),
             ("onCallEnded", "LOCAL_HANGUP"), ("onCallEnded", "REMOTE_HANGUP"),
             ("onCallEnded", "BUSY"), ("relaySessionData", "valid"), ("onIncomingCall", ""),
             ("onMissedCall", "valid"), ("answer", "")),
    # the calls need an initialized client
    "lifecycle": (("initialize", "valid"), ("onInitializationSuccess", "")),
    # the audio route and the logs need a live call, and an ended one, and no more
    "live call": (("dial", "valid"), ("onCallInitiated", ""), ("onCallEstablished", ""),
                  ("hangup", ""), ("onCallEnded", "no reason"), ("onCallEnded", "LOCAL_HANGUP")),
}
SLICES = ("calls", "lifecycle", "audio", "logs")


def letter_side(letter: Letter, sources: dict[str, frozenset[str]]) -> str:
    """The slice a letter belongs to: "audio" or "logs" when every edge of its event is in
    that half of the device side, "lifecycle" when every one is in the life cycle, else
    "calls" (a refused API call: by its operation)."""
    from ..charts.system import AUDIO_OPS

    regions = {REGION_OF.get(s, "") for s in sources.get(letter.name, frozenset())}
    if letter.result != "ok" or not regions:
        if letter.name in AUDIO_OPS:
            return "audio"
        if letter.name == "uploadLogs":
            return "logs"
        return "lifecycle" if letter.name in ("initialize", "reset", "stop") else "calls"
    if regions <= LOG_REGIONS:
        return "logs"
    if regions <= AUDIO_REGIONS or (letter.name in AUDIO_OPS and "callkit" not in regions):
        return "audio"  # an audio operation the api region takes by itself (AUDIO-LIVE)
    if regions <= LIFECYCLE_REGIONS | {"listener"}:
        return "lifecycle"
    return "calls"


def _framed(letter: Letter, frame: tuple[tuple[str, str], ...]) -> bool:
    return letter.result == "ok" and (letter.name, letter.label) in frame


def slice_letters(callkit: bool, which: str | None) -> tuple[Letter, ...]:
    """The letters one slice explores (None: the whole alphabet, as one product)."""
    letters = alphabet(callkit)
    if which is None:
        return letters
    if which not in SLICES:
        raise ValueError(f"no slice {which!r} (slices: {', '.join(SLICES)})")
    sources = _sources()
    own = tuple(x for x in letters if letter_side(x, sources) == which)
    frames = {"calls": FRAMES["lifecycle"], "lifecycle": FRAMES["call"]}.get(
        which, FRAMES["live call"] + FRAMES["lifecycle"])
    return own + tuple(x for x in letters if x not in own and _framed(x, frames))


_W: dict[str, object] = {}  # the expanding process's machine and letters


def _init_worker(callkit: bool, which: str | None, model: type[ClientModel]) -> None:
    _W["m"] = model(callkit=callkit)
    _W["letters"] = slice_letters(callkit, which)
    _W["sources"] = _sources()


Raw = tuple[int, Snapshot, MKey, tuple[str, ...], tuple[str, ...], str | None, str | None]


def _expand(snap: Snapshot) -> tuple[list[Raw], dict[str, int]]:
    """Every letter the configuration `snap` takes, with where it leads (run in a worker)."""
    m: ClientModel = _W["m"]  # type: ignore[assignment]
    letters: tuple[Letter, ...] = _W["letters"]  # type: ignore[assignment]
    sources: dict[str, frozenset[str]] = _W["sources"]  # type: ignore[assignment]
    out: list[Raw] = []
    cited: dict[str, int] = {}
    conf = frozenset(snap.configuration)
    for i, letter in enumerate(letters):
        if letter.result == "ok" and sources.get(letter.name, frozenset()).isdisjoint(conf):
            continue
        m.restore(snap)
        had_uuid = m.v.ck_uuid is not None
        had_second = m.v.ck_second is not None
        try:
            m._fire(letter.name, result=letter.result, params=letter.params)
        except SpecViolation as v:
            for r in v.rules:
                cited[r.id] = cited.get(r.id, 0) + 1
            continue
        uuid_eff = None
        if m.v.ck_uuid == NEW:
            m.v.ck_uuid, uuid_eff = ACTIVE, "bind"
        elif had_uuid and m.v.ck_uuid is None:
            uuid_eff = "release"
        if m.v.ck_second == NEW:
            m.v.ck_second, uuid_eff = SECOND, "bind2"
        elif had_second and m.v.ck_second is None:
            uuid_eff = uuid_eff or "release2"
        rules = _move_rules(m, letter, snap)
        out.append((i, m.snapshot(), m.key(), tuple(m.fired), rules, m.call_effect, uuid_eff))
    cited["__fires__"] = len(out) + sum(cited.values())
    return out, cited


def explore(callkit: bool, bound: Bound = Bound(), *,
            progress: Callable[[int, int], None] | None = None,
            model: type[ClientModel] = ClientModel, which: str | None = None,
            jobs: int = 1) -> Space:
    """Breadth-first over the composed model within `bound`, over one slice's letters, level
    by level (so every node's parent lies on a shortest path), the configurations of a level
    expanded by `jobs` processes."""
    t0 = time.perf_counter()
    letters = slice_letters(callkit, which)
    sp = Space(callkit, bound, letters, which)
    _init_worker(callkit, which, model)
    pool = None
    if jobs > 1:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(
            jobs, initializer=_init_worker, initargs=(callkit, which, model))

    def intern(key: MKey, snap: Snapshot) -> int:
        idx = sp.keys.get(key)
        if idx is None:
            idx = sp.keys[key] = len(sp.snaps)
            sp.snaps.append(snap)
        return idx

    m0: ClientModel = _W["m"]  # type: ignore[assignment]
    m0.restore(model(callkit=callkit).snapshot())
    start: Node = (intern(m0.key(), m0.snapshot()), 0, 0)
    sp.nodes[start] = 0
    sp.order.append(start)
    sp.parent[start] = None
    level: list[Node] = [start]
    try:
        while level:
            todo = list(dict.fromkeys(n[0] for n in level if n[0] not in sp.moves))
            snaps = [sp.snaps[i] for i in todo]
            results = (pool.imap(_expand, snaps, chunksize=8) if pool is not None
                       else map(_expand, snaps))
            for idx, (raw, cited) in zip(todo, results):
                sp.fires += cited.pop("__fires__")
                for r, n in cited.items():
                    sp.cited[r] = sp.cited.get(r, 0) + n
                sp.moves[idx] = [Move(i, intern(key, snap), fired, rules, ce, ue)
                                 for i, snap, key, fired, rules, ce, ue in raw]
            nxt_level: list[Node] = []
            for node in level:
                idx, calls, pstn = node
                outs: list[tuple[int, Node]] = []
                for j, mv in enumerate(sp.moves[idx]):
                    c = calls + (mv.call_effect == "start")
                    p = pstn + (letters[mv.letter].name in _PSTN_STARTS)
                    if c > bound.calls or p > bound.pstn or not bound.admits(sp.snaps[mv.target]):
                        continue
                    nxt: Node = (mv.target, c, p)
                    outs.append((j, nxt))
                    if nxt not in sp.nodes:
                        sp.nodes[nxt] = len(sp.order)
                        sp.order.append(nxt)
                        sp.parent[nxt] = (node, j)
                        nxt_level.append(nxt)
                sp.edges[node] = outs
            level = nxt_level
            if progress is not None:
                progress(len(sp.edges), len(sp.nodes))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    sp.seconds = time.perf_counter() - t0
    return sp


def _move_rules(m: ClientModel, letter: Letter, before: Snapshot) -> tuple[str, ...]:
    """The rules behind a move: its tagged transitions' rules, and for a refused API call the
    refusal rule that allowed that result."""
    rules = [_TRANSITION_RULE[f] for f in m.fired if f in _TRANSITION_RULE]
    if letter.result != "ok":
        state = m.snapshot()
        m.restore(before)
        for r, _why in m.applicable_refusals(letter.name, letter.params):
            if r.errors is None or letter.result in r.errors:
                rules.append(r.rule.id)
                break
        m.restore(state)
    return tuple(dict.fromkeys(rules))


def _transition_rules() -> dict[str, str]:
    from ..base import transition_id

    return {transition_id(t): spec.rule.id for t, spec in transitions_of(ClientModel)}


_TRANSITION_RULE = _transition_rules()

