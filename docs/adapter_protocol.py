"""The adapter protocol document's tables and its JSON Schema, written from the code.

    python docs/adapter_protocol.py          # rewrite the tables and the schema file
    python docs/adapter_protocol.py --check  # exit 1 when either is stale

docs/adapter-protocol.md is prose around tables; each table sits between a
`<!-- catalogue: GROUP -->` line and the next `<!-- end -->` line and is written here from the
protocol's catalogue (exovoice.spec.conform.protocol: every operation, query, stimulus and
platform control, the capability that gates it and the shape of its arguments), so the
document cannot leave out something the driver sends. docs/adapter-protocol.schema.json is
`exovoice schema adapter`, generated from the message models. tests/test_adapter_protocol.py
fails when either is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from exovoice.spec.conform import protocol as P
from exovoice.spec.vocabulary import (
    CallAudioRoute,
    CallDirection,
    CallEndReason,
    CallIssue,
    CallState,
    ErrorType,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "adapter-protocol.md"
SCHEMA = ROOT / "docs" / "adapter-protocol.schema.json"
BLOCK = re.compile(r"(<!-- catalogue: (?P<group>[a-z]+) -->\n)(?P<body>.*?)(<!-- end -->)", re.S)

_ENUMS = {frozenset(CallState.names()): "a CallState", frozenset(ErrorType.names()): "an ErrorType",
          frozenset(CallDirection.names()): "a CallDirection",
          frozenset(CallEndReason.names()): "a CallEndReason",
          frozenset(CallAudioRoute.names()): "a CallAudioRoute",
          frozenset(CallIssue.names()): "a CallIssue"}


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    """A property's JSON type in a few words."""
    if "$ref" in node:
        return _type(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in node:
        kinds = [_type(x, defs) for x in node["anyOf"] if x.get("type") != "null"]
        if set(kinds) == {"int", "number"}:
            return "number"
        return " or ".join(dict.fromkeys(kinds))
    if "enum" in node:
        named = _ENUMS.get(frozenset(node["enum"]))
        return named or " or ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    t = node.get("type")
    if t == "array":
        return f"list of {_type(node.get('items', {}), defs)}"
    if t == "integer":
        return "int"
    if t == "string":
        return "str"
    if t == "boolean":
        return "bool"
    return str(t or "any")


def _fields(model: Any) -> str:
    """A model's fields as `name` (type); optional ones marked."""
    schema = TypeAdapter(model).json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    if "anyOf" in schema:  # a union of shapes
        return " **or** ".join(_fields_of(defs[x["$ref"].rsplit("/", 1)[-1]], defs) or "{}"
                               for x in schema["anyOf"])
    return _fields_of(schema, defs)


def _fields_of(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    if not props:
        return "-" if schema.get("type") == "object" else _type(schema, defs)
    prefix = "a non-empty object, e.g. " if schema.get("minProperties") else ""
    out = []
    for name, node in props.items():
        text = f"`{name}` {_type(node, defs)}"
        if name not in required:
            text += "?"
        out.append(text)
    return prefix + ", ".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _name(e: P.Entry) -> str:
    return f"`{e.name}`" + ("" if e.sent else " (not sent)")


def _cap(e: P.Entry) -> str:
    return "-" if not e.sent and not e.needs else f"`{e.capability}`"


def table(group: str) -> str:
    """The markdown table of one catalogue group."""
    entries = [e for e in P.CATALOGUE if e.group == group]
    if not entries:
        raise SystemExit(f"docs/adapter-protocol.md: no catalogue group {group!r}")
    if group == P.QUERY:
        rows = ["| name | capability | value | what it is |", "| --- | --- | --- | --- |"]
        rows += [f"| {_name(e)} | {_cap(e)} | {_cell(_fields(e.value))} | "
                 f"{_cell(e.meaning)} |" for e in entries]
    elif group == P.PLATFORM_OP:
        rows = ["| name | args | result |", "| --- | --- | --- |"]
        rows += [f"| {_name(e)} | {_cell(_fields(e.args))} | {_cell(e.meaning)}: "
                 f"{_cell(e.returns)} |" for e in entries]
    else:
        rows = ["| name | capability | args | what it is |", "| --- | --- | --- | --- |"]
        rows += [f"| {_name(e)} | {_cap(e)} | {_cell(_fields(e.args))} | "
                 f"{_cell(e.meaning)} |" for e in entries]
    return "\n".join(rows) + "\n"


def render(doc: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + table(m.group("group")) + m.group(4), doc)


def schema_text() -> str:
    return json.dumps(P.adapter_json_schema(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python docs/adapter_protocol.py")
    ap.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    ns = ap.parse_args(argv)
    doc = DOC.read_text(encoding="utf-8")
    want = {DOC: render(doc), SCHEMA: schema_text()}
    stale = [p for p, text in want.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    if ns.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is stale: run python docs/adapter_protocol.py",
                  file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(want[p], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
