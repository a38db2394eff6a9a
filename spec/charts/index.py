"""Where each rule is enforced, read from the charts themselves.

A rule lives on tagged transitions, in the refusal table, or in a guard method that cites it
(`deny_unless(..., R.SOME_RULE, ...)`); the last are found by reading the guards' source, so
the index cannot drift from the code.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from .. import rules as R
from ..base import transition_id
from . import calls
from .model import ClientModel, transitions_of
from .system import REFUSALS

_RULE_NAMES = {name: r for name, r in vars(R).items() if isinstance(r, R.Rule)}


def _guard_citations() -> dict[str, set[str]]:
    cites: dict[str, set[str]] = {}
    owners: list[object] = [c for c in ClientModel.__mro__
                            if not c.__module__.startswith("statemachine") and c is not object]
    owners.append(calls)
    for cls in owners:
        for name, fn in vars(cls).items():
            if isinstance(fn, property) and fn.fget is not None:
                fn = fn.fget
            if not inspect.isfunction(fn):
                continue
            head = (fn.__doc__ or "").split(":", 1)[0].strip()
            if head in R.RULES:
                cites.setdefault(head, set()).add(f"{name}")
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id == "R" and node.attr in _RULE_NAMES):
                    cites.setdefault(_RULE_NAMES[node.attr].id, set()).add(f"guard {name}()")
    return cites


def rule_uses() -> dict[str, list[str]]:
    """Rule id -> the transitions, refusals and guards that enforce it."""
    uses: dict[str, set[str]] = {rid: set() for rid in R.RULES}
    for t, spec in transitions_of(ClientModel):
        uses[spec.rule.id].add(transition_id(t))
    for r in REFUSALS:
        uses[r.rule.id].add("refusal of " + ", ".join(sorted(r.ops)))
    for rid, where in _guard_citations().items():
        uses[rid] |= where
    return {rid: sorted(v) for rid, v in uses.items()}
