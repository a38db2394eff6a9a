"""The state space of the composed model within a bound: every configuration reachable from
the initial one, and every transition between them.

The model's own behaviour does not depend on how many calls came before (ids are symbolic),
so a configuration's moves are found once, whatever the counters (calls started, PSTN calls
started) the bound puts on top. Each move comes from `step.Stepper`, which fires the engine
once per values of what a letter's step reads and applies that outcome to every other
configuration that agrees on them; that loses nothing, since the engine, guards and actions
are deterministic functions of what they read. A letter is tried only where some region has an
edge for its event (or it is a refused API call, which the api region may always take), which
skips most of the alphabet in most configurations without changing what is found.

The alphabet is explored in slices (`SLICES`): each slice's own letters against a small frame
of the others, instead of the product of all of them, which multiplies what is enumerated by
every combination of regions that do not read each other. Each frame reaches every state of
the other regions that the slice's guards read, and holds what the slice owes to something it
can meet; why each split loses nothing the properties judge is said beside `FRAMES`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from ..charts.model import ClientModel, Snapshot, transitions_of
from ..vocabulary import Env
from .alphabet import Letter, alphabet
from ..charts.step import POS, REGION_OF, REGIONS, State, Stepper, after, snapshot_of, state_of

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

    def admits(self, st: State) -> bool:
        """Whether a configuration owes no more answers of a kind than the bound allows."""
        return st[_MISSED] <= self.owed and st[_UPLOADS] <= self.owed


_MISSED, _UPLOADS = POS["missed_owed"], POS["uploads"]


class Move(NamedTuple):
    """A letter the model takes from one configuration, and where it leads."""

    letter: int  # index in the alphabet
    target: int  # model configuration index
    fired: tuple[str, ...]  # transition ids taken
    rules: tuple[str, ...]  # the rules behind it (tagged transitions; refusal rules allowing it)
    call_effect: str | None
    uuid_effect: tuple[str | None, str | None] | None  # the symbols the CallKit UUIDs came from


class Snaps:
    """A read-only list of the model snapshots of flat states, each made once."""

    def __init__(self, states: list[State], made: dict[int, Snapshot]) -> None:
        self.states, self.made = states, made

    def __len__(self) -> int:
        return len(self.states)

    def __getitem__(self, idx: int) -> Snapshot:
        got = self.made.get(idx)
        if got is None:
            got = self.made[idx] = snapshot_of(self.states[idx])
        return got

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(len(self.states)))


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
    states: list[State] = field(default_factory=list)  # each configuration, flat
    keys: dict[State, int] = field(default_factory=dict)
    made: dict[int, Snapshot] = field(default_factory=dict, repr=False)  # snaps made so far
    moves: dict[int, list[Move]] = field(default_factory=dict)
    cited: dict[str, int] = field(default_factory=dict)  # rule -> times a guard cited it
    nodes: dict[Node, int] = field(default_factory=dict)  # node -> index in order
    order: list[Node] = field(default_factory=list)
    parent: dict[Node, tuple[Node, int] | None] = field(default_factory=dict)
    edges: dict[Node, list[tuple[int, Node]]] = field(default_factory=dict)  # node -> (move#, node)
    stepper: Stepper | None = field(default=None, repr=False)  # the memo it was explored with
    fires: int = 0  # steps the engine took
    steps: int = 0  # letters judged, fired or applied from what an earlier step read
    seconds: float = 0.0

    @property
    def transitions(self) -> int:
        return sum(len(v) for v in self.edges.values())

    @property
    def snaps(self) -> Snaps:
        """The configurations as model snapshots (made when first asked for)."""
        return Snaps(self.states, self.made)

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


# The device side: regions about the phone around the call (audio route, Bluetooth, wired
# headset, data network, log uploads, the log listener). Their events change no call-side
# state and the call side's none of theirs, so each side is explored on its own with the
# other held still, instead of as a product of both: see `slice_letters`.
DEVICE_REGIONS = frozenset({"logs", "bluetooth", "network", "audio", "listener"})
LOG_REGIONS = frozenset({"logs", "listener"})  # the device side's own two halves:
AUDIO_REGIONS = DEVICE_REGIONS - LOG_REGIONS  # logs apart from the audio route and network
# The life cycle (initialize, reset, stop, token failures) is explored beside the calls too:
# each with a small frame of the other (initialized; a call that is dialled, established and
# ended), so the product of every life-cycle state with every call state is not enumerated.
LIFECYCLE_REGIONS = frozenset({"lifecycle"})
# The VoIP push (PushKit's region, and the second CallKit call a push during a call brings)
# reads of the call side only whether CallKit holds a call, under which UUID, and whether a
# CallKit action is pending, so it is explored against a frame of one dialled and one pushed
# CallKit call (started, answered, ended, each action fulfilled); the calls slice reports an
# incoming call to CallKit after onIncomingCall.
PUSH_REGIONS = frozenset({"pushkit"})
# The PSTN call reads of the call side only whether a call exists or is live, and with CallKit
# whether CallKit holds it and has put it on hold (its pstnAnswered edge ends every live call
# state alike), so it is explored against every state the network leads a call through, with
# CallKit's start, answer, hold and end, instead of against every CallKit action.
PSTN_REGIONS = frozenset({"pstn"})
FRAMES: dict[str, tuple[tuple[str, ...], ...]] = {
    # each entry: (event, argument class) for an accepted letter, (event, class, result)
    # for a refused one
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
    # a push needs a CallKit call to arrive during (dialled, or itself pushed and answered),
    # the report that makes it one or a second call, and the ends of both
    "push": (("reportNewIncomingCall", "A"), ("reportNewIncomingCall", "S"),
             ("relaySessionData", "valid"), ("onIncomingCall", ""), ("CXAnswerCallAction", "A"),
             ("answer", ""), ("actionFulfilled", "CXAnswerCallAction A"),
             ("onCallEstablished", ""), ("CXEndCallAction", "A"), ("CXEndCallAction", "S"),
             ("hangup", ""), ("actionFulfilled", "CXEndCallAction A"),
             ("actionFulfilled", "CXEndCallAction S"), ("onCallEnded", "LOCAL_HANGUP"),
             ("onCallEnded", "REMOTE_HANGUP"), ("reportCallEnded", "A"),
             ("reportCallEnded", "S"), ("onMissedCall", "valid"), ("dial", "valid"),
             ("CXStartCallAction", "A"), ("actionFulfilled", "CXStartCallAction A"),
             ("onCallInitiated", "")),
    # beside the "call" frame: every live call state, the end a PSTN call gives a VoIP call,
    # the refusals a PSTN call causes, and a CallKit call to start, answer, hold and end
    "pstn": (("onCallEnded", "PSTN_HANGUP"), ("net_early_media", ""), ("net_connecting", ""),
             ("onMediaDisrupted", ""), ("onRenewingMedia", ""),
             ("onCallFailed", "CONGESTION_ERROR"), ("onCallEnded", "TIMEOUT"),
             ("onCallEnded", "MEDIA_TIMEOUT"), ("onCallEnded", "FAILURE"),
             ("dial", "valid", "PSTN_CALL_INPROGRESS"),
             ("relaySessionData", "valid", "PSTN_CALL_INPROGRESS"),
             ("CXStartCallAction", "A"), ("actionFulfilled", "CXStartCallAction A"),
             ("reportNewIncomingCall", "A"), ("CXAnswerCallAction", "A"),
             ("actionFulfilled", "CXAnswerCallAction A"),
             ("CXSetHeldCallAction", "A onHold=True"), ("actionFulfilled", "CXSetHeldCallAction A"),
             ("CXEndCallAction", "A"), ("actionFulfilled", "CXEndCallAction A"),
             ("reportCallEnded", "A")),
}
SLICES = ("calls", "lifecycle", "audio", "logs", "push", "pstn")


def letter_side(letter: Letter, sources: dict[str, frozenset[str]]) -> str:
    """The slice a letter belongs to: "audio" or "logs" when every edge of its event is in
    that half of the device side, "lifecycle" when every one is in the life cycle, "push"
    when every one is PushKit's, "pstn" when one is the PSTN call's, else "calls" (a refused
    API call: by its operation)."""
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
    if regions <= PUSH_REGIONS:
        return "push"
    if regions & PSTN_REGIONS:
        return "pstn"
    return "calls"


def _framed(letter: Letter, frame: tuple[tuple[str, ...], ...]) -> bool:
    return (letter.name, letter.label) + (() if letter.result == "ok" else (letter.result,)) \
        in frame


def own_letters(callkit: bool, which: str) -> tuple[Letter, ...]:
    """The letters that belong to slice `which` (its frame aside)."""
    sources = _sources()
    return tuple(x for x in alphabet(callkit) if letter_side(x, sources) == which)


def slices_of(callkit: bool) -> tuple[str, ...]:
    """The slices with letters of their own in this mode (the VoIP push only with CallKit)."""
    return tuple(w for w in SLICES if own_letters(callkit, w))


def slice_letters(callkit: bool, which: str | None) -> tuple[Letter, ...]:
    """The letters one slice explores (None: the whole alphabet, as one product)."""
    letters = alphabet(callkit)
    if which is None:
        return letters
    if which not in SLICES:
        raise ValueError(f"no slice {which!r} (slices: {', '.join(SLICES)})")
    own = own_letters(callkit, which)
    frames = {"calls": FRAMES["lifecycle"], "lifecycle": FRAMES["call"],
              "push": FRAMES["push"] + FRAMES["lifecycle"],
              "pstn": FRAMES["call"] + FRAMES["pstn"] + FRAMES["lifecycle"]}.get(
        which, FRAMES["live call"] + FRAMES["lifecycle"])
    return own + tuple(x for x in letters if x not in own and _framed(x, frames))


_W: dict[str, object] = {}  # the expanding process's stepper and letters


def _init_worker(callkit: bool, which: str | None, model: type[ClientModel]) -> None:
    _W["stepper"] = Stepper(model)
    _W["letters"] = slice_letters(callkit, which)
    _W["sources"] = _sources()


Raw = tuple[int, State | None, tuple[str, ...], tuple[str, ...], str | None,
            tuple[str | None, str | None] | None]


def _expand(st: State) -> tuple[list[Raw], dict[str, int]]:
    """Every letter the configuration takes, with where it leads (None: to itself); run in
    the exploring process or a worker."""
    stepper: Stepper = _W["stepper"]  # type: ignore[assignment]
    letters: tuple[Letter, ...] = _W["letters"]  # type: ignore[assignment]
    sources: dict[str, frozenset[str]] = _W["sources"]  # type: ignore[assignment]
    out: list[Raw] = []
    cited: dict[str, int] = {}
    leaves = st[:len(REGIONS)]
    fires, steps = stepper.fires, stepper.steps
    for i, letter in enumerate(letters):
        if letter.result == "ok" and sources.get(letter.name, _NONE).isdisjoint(leaves):
            continue
        o = stepper.step(st, letter)
        if not o.ok:
            for r in o.cited:
                cited[r] = cited.get(r, 0) + 1
            continue
        out.append((i, after(st, o), o.fired, o.rules, o.call_effect, o.uuid_effect))
    cited["__fires__"] = stepper.fires - fires
    cited["__steps__"] = stepper.steps - steps
    return out, cited


_NONE: frozenset[str] = frozenset()


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
    if _W.get("model") is not model:  # one stepper per model class, kept across explorations
        _init_worker(callkit, which, model)
        _W["model"] = model
    _W["letters"] = letters
    sp.stepper = _W["stepper"]  # type: ignore[assignment]
    pool = None
    if jobs > 1:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(
            jobs, initializer=_init_worker, initargs=(callkit, which, model))

    admitted: list[bool] = []

    def intern(st: State) -> int:
        idx = sp.keys.get(st)
        if idx is None:
            idx = sp.keys[st] = len(sp.states)
            sp.states.append(st)
            admitted.append(bound.admits(st))
        return idx

    m0 = model(callkit=callkit)
    start: Node = (intern(state_of(m0.configuration_values, m0.v)), 0, 0)
    sp.nodes[start] = 0
    sp.order.append(start)
    sp.parent[start] = None
    level: list[Node] = [start]
    try:
        while level:
            todo = list(dict.fromkeys(n[0] for n in level if n[0] not in sp.moves))
            items = [sp.states[i] for i in todo]
            results = (pool.imap(_expand, items, chunksize=8) if pool is not None
                       else map(_expand, items))
            for idx, (raw, cited) in zip(todo, results):
                sp.fires += cited.pop("__fires__")
                sp.steps += cited.pop("__steps__")
                for r, n in cited.items():
                    sp.cited[r] = sp.cited.get(r, 0) + n
                sp.moves[idx] = [Move(i, idx if nxt is None else intern(nxt), fired, rules, ce, ue)
                                 for i, nxt, fired, rules, ce, ue in raw]
            nxt_level: list[Node] = []
            for node in level:
                idx, calls, pstn = node
                outs: list[tuple[int, Node]] = []
                for j, mv in enumerate(sp.moves[idx]):
                    c = calls + (mv.call_effect == "start")
                    p = pstn + (letters[mv.letter].name in _PSTN_STARTS)
                    if c > bound.calls or p > bound.pstn or not admitted[mv.target]:
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
