"""XState v5 machine configurations (JSON) for a chart, and the writer of every export.

Each state carries its spec id as `id`, so targets are `#id` whatever the nesting; a guarded
transition uses one named guard, `spec`, with the guard names as params: the host provides
`spec: ({ event }, { all }) => all.every(g => event["g_" + g])` in the machine's
implementations (the guards are the spec's, as in the SCXML export)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import CHARTS, ExportChart, ExportState, chart
from .scxml import to_scxml


def _node(s: ExportState) -> dict[str, Any]:
    node: dict[str, Any] = {"id": s.id}
    if s.name != s.id:
        node["description"] = s.name
    if s.children:
        if s.parallel:
            node["type"] = "parallel"
        else:
            node["initial"] = s.initial
        node["states"] = {c.id: _node(c) for c in s.children}
    on: dict[str, list[dict[str, Any]]] = {}
    for t in s.transitions:
        for e in t.events:
            entry: dict[str, Any] = {"target": f"#{t.target}"}
            if t.target == s.id:
                entry["reenter"] = False
            if t.guards:
                entry["guard"] = {"type": "spec", "params": {"all": list(t.guards)}}
            if t.rule:
                entry["meta"] = {"rule": t.rule}
            on.setdefault(e, []).append(entry)
    if on:
        node["on"] = on
    return node


def to_xstate(c: ExportChart) -> dict[str, Any]:
    config = _node(c.root)
    config["id"] = c.root.id
    return {"$comment": f"{c.name}: generated from exovoice's spec by `exovoice export "
            "--format xstate`; pass createMachine(config, {guards: {spec}})", **config}


def write_exports(out_dir: Path, fmt: str) -> list[Path]:
    """Every chart in `fmt` ("scxml" or "xstate") into out_dir (created if missing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in CHARTS:
        c = chart(name)
        if fmt == "scxml":
            path, text = out_dir / f"{name}.scxml", to_scxml(c)
        else:
            path = out_dir / f"{name}.xstate.json"
            text = json.dumps(to_xstate(c), indent=2) + "\n"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
