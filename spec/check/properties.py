"""The properties `exovoice check` holds the explored spec to, each with a name, a verdict and,
when it fails, the node a shortest counterexample leads to and a one-line explanation.

Reachability properties ("from here, idle can still be reached") are decided backwards: the
set of nodes that can reach a target is grown from the targets over reversed edges (reversed
once per space), so each property costs one pass over the graph whatever its size. A move's
invariants do not depend on the node it is taken from, so each move is judged once; and the
facts about each configuration (its call state, what it owes) and determinism's trial steps
are asked of the exploring step memo, so the model is driven once per values they read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..charts.call_state import LIVE
from ..charts.model import ClientModel, transitions_of
from ..charts.system import REFUSALS
from ..rules import RULES
from ..vocabulary import OBSERVABLE_EVENTS, Api, CallState, Network
from .alphabet import INTERNAL, Letter
from .space import Node, Space
from ..charts.step import REGIONS, Stepper, leaves_of


@dataclass
class Finding:
    """One property's verdict over one explored space."""

    name: str
    title: str
    held: bool
    explanation: str = ""
    node: Node | None = None  # where a shortest counterexample ends
    extra: list[str] = field(default_factory=list)  # the rest, for reports (bounded)
    counterexample: str | None = None  # the trace file written for it


class Facts:
    """Per model configuration facts the properties read, computed once (and, through the
    exploring stepper, once per values of what they read), and the explored graph reversed,
    for every reachability question."""

    def __init__(self, sp: Space) -> None:
        self.sp = sp
        st = sp.stepper if sp.stepper is not None else Stepper()
        self.call_state: list[CallState | None] = []
        self.obligations: list[tuple[str, ...]] = []
        self.leaves: list[list[str]] = []
        self.pstn_in_progress: list[bool] = []
        for s in sp.states:
            cs, owed, pstn = st.query(s, "facts", _facts)
            self.call_state.append(cs)
            self.obligations.append(owed)
            self.leaves.append(leaves_of(s))
            self.pstn_in_progress.append(pstn)
        self._back: dict[Node, list[Node]] | None = None

    def idle(self, idx: int) -> bool:
        cs = self.call_state[idx]
        return cs in (None, CallState.ENDED) and not self.obligations[idx]

    @property
    def back(self) -> dict[Node, list[Node]]:
        """node -> the nodes with an edge to it."""
        if self._back is None:
            back: dict[Node, list[Node]] = {}
            for a, outs in self.sp.edges.items():
                for _j, b in outs:
                    if b != a:
                        got = back.get(b)
                        if got is None:
                            back[b] = [a]
                        else:
                            got.append(a)
            self._back = back
        return self._back


def _facts(m: ClientModel) -> tuple[CallState | None, tuple[str, ...], bool]:
    return (m.call_state, tuple(f"{r.id}: {why}" for r, why in m.obligations()),
            m.pstn_in_progress)


def _can_reach(sp: Space, facts: Facts, target: Callable[[Node], bool]) -> set[Node]:
    """Every node from which some node satisfying `target` is reachable."""
    back = facts.back
    good = {n for n in sp.order if target(n)}
    todo = deque(good)
    while todo:
        n = todo.popleft()
        for a in back.get(n, ()):
            if a not in good:
                good.add(a)
                todo.append(a)
    return good


def _first_bad(sp: Space, good: set[Node], where: Callable[[Node], bool]) -> list[Node]:
    """Nodes (in BFS order, so the first has a shortest path) where `where` holds that are
    not in `good`."""
    return [n for n in sp.order if where(n) and n not in good]


def _shown(sp: Space, facts: Facts, n: Node) -> str:
    return f"{', '.join(facts.leaves[n[0]])} (calls {n[1]}, PSTN calls {n[2]})"


def no_deadlock(sp: Space, facts: Facts) -> Finding:
    good = _can_reach(sp, facts, lambda n: facts.idle(n[0]))
    bad = _first_bad(sp, good, lambda n: True)
    f = Finding("no-deadlock", "from every reachable configuration, idle (no call, nothing "
                "owed) can be reached", not bad)
    if bad:
        f.node = bad[0]
        f.explanation = (f"no sequence within the bound leads back to idle from "
                         f"{_shown(sp, facts, bad[0])}; owed: "
                         f"{'; '.join(facts.obligations[bad[0][0]]) or 'nothing'}")
        f.extra = [_shown(sp, facts, n) for n in bad[1:20]]
    return f


def no_livelock(sp: Space, facts: Facts) -> Finding:
    """No cycle of unobserved steps only: a client cannot go round for ever where no trace line
    can show it."""
    internal = {idx: {j for j, mv in enumerate(moves) if sp.letters[mv.letter].internal}
                for idx, moves in sp.moves.items()}
    inner: dict[Node, list[Node]] = {}
    for a, outs in sp.edges.items():
        js = internal.get(a[0])
        if js:
            got = [b for j, b in outs if j in js]
            if got:
                inner[a] = got
    colour: dict[Node, int] = {}
    for start in inner:
        if colour.get(start):
            continue
        stack = [(start, iter(inner.get(start, ())))]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
            elif colour.get(nxt) == 1:
                return Finding("no-livelock", "no cycle of unobserved steps only", False,
                               f"the unobserved steps go round through {_shown(sp, facts, nxt)}",
                               nxt)
            elif not colour.get(nxt):
                colour[nxt] = 1
                stack.append((nxt, iter(inner.get(nxt, ()))))
    return Finding("no-livelock", "no cycle of unobserved steps only", True)


def calls_end(sp: Space, facts: Facts) -> Finding:
    def has_call(n: Node) -> bool:
        cs = facts.call_state[n[0]]
        return cs is not None and cs != CallState.ENDED

    good = _can_reach(sp, facts, lambda n: facts.call_state[n[0]] == CallState.ENDED)
    bad = _first_bad(sp, good, has_call)
    f = Finding("every-call-ends", "every configuration with a call can reach ENDED", not bad)
    if bad:
        f.node = bad[0]
        f.explanation = f"the call can never reach ENDED from {_shown(sp, facts, bad[0])}"
    return f


def obligations_met(sp: Space, facts: Facts) -> Finding:
    good = _can_reach(sp, facts, lambda n: not facts.obligations[n[0]])
    bad = _first_bad(sp, good, lambda n: bool(facts.obligations[n[0]]))
    f = Finding("obligations-met", "every obligation of --complete can be met", not bad)
    if bad:
        f.node = bad[0]
        f.explanation = (f"{'; '.join(facts.obligations[bad[0][0]])}, and nothing within the "
                         f"bound meets it, from {_shown(sp, facts, bad[0])}")
    return f


@dataclass(frozen=True)
class Invariant:
    """A predicate on every move (source configuration, letter, target configuration)."""

    name: str
    title: str
    rule: str
    broken: Callable[[Facts, int, str, str, int, str | None], bool]


def _single_call(facts: Facts, a: int, name: str, result: str, b: int, eff: str | None) -> bool:
    cs = facts.call_state[a]
    return eff == "start" and cs is not None and cs not in (CallState.ENDED, CallState.NONE)


def _pstn_no_dial(facts: Facts, a: int, name: str, result: str, b: int, eff: str | None) -> bool:
    return name == Api.dial.value and result == "ok" and facts.pstn_in_progress[a]


def _ended_terminal(facts: Facts, a: int, name: str, result: str, b: int, eff: str | None) -> bool:
    return (facts.call_state[a] == CallState.ENDED and facts.call_state[b] in LIVE
            and eff not in ("start", "restore", "announce"))


INVARIANTS = (
    Invariant("single-call-context", "no call begins while another is in progress (guide 4.7)",
              "SYS-BUSY", _single_call),
    Invariant("pstn-no-dial", "no dial() is accepted while a PSTN call is in progress",
              "PSTN-NO-DIAL", _pstn_no_dial),
    Invariant("ended-is-terminal", "an ENDED call never becomes live again", 
              "CALL-ENDED-TERMINAL", _ended_terminal),
)


def invariant(sp: Space, facts: Facts, inv: Invariant) -> Finding:
    # whether a move breaks it does not depend on the node it is taken from: each move is
    # judged once, and the nodes (in BFS order) searched only when one does
    broken: dict[int, set[int]] = {}
    for idx, moves in sp.moves.items():
        for j, mv in enumerate(moves):
            letter = sp.letters[mv.letter]
            if inv.broken(facts, idx, letter.name, letter.result, mv.target, mv.call_effect):
                broken.setdefault(idx, set()).add(j)
    for a in sp.order if broken else ():
        js = broken.get(a[0])
        for j, b in sp.edges.get(a, ()) if js else ():
            if j in js:
                letter = sp.letters[sp.moves[a[0]][j].letter]
                return Finding(inv.name, f"{inv.title} ({inv.rule})", False,
                               f"{letter} takes {_shown(sp, facts, a)} to "
                               f"{_shown(sp, facts, b)}", b)
    return Finding(inv.name, f"{inv.title} ({inv.rule})", True)


def model_rules() -> set[str]:
    """The rules the charts themselves apply: on a transition, or as a refusal rule."""
    out = {spec.rule.id for _t, spec in transitions_of(ClientModel)}
    out |= {r.rule.id for r in REFUSALS}
    return out


def rules_reached(spaces: Iterable[Space]) -> tuple[set[str], set[str]]:
    """(rules some move applied, rules some guard cited when it refused a letter)."""
    applied: set[str] = set()
    cited: set[str] = set()
    for sp in spaces:
        for a, outs in sp.edges.items():
            moves = sp.moves[a[0]]
            for j, _b in outs:
                applied.update(moves[j].rules)
        cited.update(sp.cited)
    return applied, cited


def every_rule(spaces: list[Space]) -> Finding:
    applied, cited = rules_reached(spaces)
    dead = sorted(model_rules() - applied - cited)
    f = Finding("every-rule-reachable", "every rule the charts apply is applied or enforced on "
                "some run", not dead)
    if dead:
        f.explanation = f"{len(dead)} rule(s) no run applies: {', '.join(dead)}"
    outside = sorted(set(RULES) - model_rules())
    f.extra = [f"judged outside the charts (trace format, conformance): {', '.join(outside)}"]
    return f


def every_state(spaces: list[Space], facts: list[Facts]) -> Finding:
    reached: set[str] = set()
    for fa in facts:
        for leaves in fa.leaves:
            reached.update(leaves)
    m = ClientModel()
    all_leaves = {s.id for s in type(m).states_map.values() if not s.states
                  and s.id != "client"}
    dead = sorted(all_leaves - reached)
    f = Finding("every-state-reachable", "every state of every chart is reachable", not dead)
    if dead:
        f.explanation = f"never reached: {', '.join(dead)}"
    return f


def determinism(sp: Space, facts: Facts) -> tuple[Finding, list[dict]]:
    """For each configuration and network happening, the callbacks the spec allows for it;
    where it allows more than one, the rules behind them must say why (`permissive`)."""
    st = sp.stepper if sp.stepper is not None else Stepper()
    # per network happening: the edges it may take (their source, each event with the
    # happening's arguments as a letter, and the edge's rule)
    tries: list[tuple[str, list[tuple[str, Letter, str]]]] = []
    for cause in Network.names():
        got = []
        for t, spec in transitions_of(ClientModel):
            params = spec.cause_params(cause) if spec.causes else None
            if params is None:
                continue
            for ev in t.events:
                kind = OBSERVABLE_EVENTS.get(str(ev))
                got.append((t.source.value, Letter(kind.value if kind else INTERNAL, str(ev),
                                                   "ok", tuple(sorted(params.items()))),
                            spec.rule.id))
        tries.append((cause, got))
    groups: dict[tuple, dict] = {}
    for idx, s in enumerate(sp.states):
        conf = set(s[:len(REGIONS)])
        for cause, got in tries:
            answers: dict[tuple, str] = {}
            for source, letter, rule in got:
                if source in conf and st.step(s, letter).ok:
                    answers[(letter.name, letter.args)] = rule
            if len(answers) > 1:
                key = (cause, tuple(sorted(answers)))
                g = groups.setdefault(key, {"cause": cause, "answers": [
                    f"{ev}({', '.join(f'{k}={v}' for k, v in p)})" if p else ev
                    for ev, p in sorted(answers)], "rules": sorted(set(answers.values())),
                    "configurations": 0, "example": ", ".join(facts.leaves[idx])})
                g["configurations"] += 1
    out = list(groups.values())
    unexplained = [g for g in out if not any(RULES[r].permissive for r in g["rules"])]
    f = Finding("determinism", "where the guide is deterministic, one answer per network "
                "happening (every choice the spec leaves is a documented permissive reading)",
                not unexplained)
    if unexplained:
        g = unexplained[0]
        f.explanation = (f"{g['cause']} may be answered {' or '.join(g['answers'])} in "
                         f"{g['example']}, and none of {', '.join(g['rules'])} says why")
    f.extra = [f"{g['cause']}: {' | '.join(g['answers'])} ({', '.join(g['rules'])}; "
               f"{g['configurations']} configurations)" for g in out]
    return f, out
