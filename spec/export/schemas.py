"""JSON Schemas of what exovoice says to machines: the `--format json` outputs of validate,
conform and rules.

Each has an `$id`, so a consumer can pin the one it was written against; the outputs are
extended compatibly (new keys only), which the schemas allow. The trace line's schema is the
trace package's own (exovoice.spec.trace.model) and the adapter protocol's is generated from
its message models (exovoice.spec.conform.protocol); the command puts them side by side.
"""

from __future__ import annotations

from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ID = "urn:exovoice:schema:{name}:1"

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object"}
_STRS = {"type": "array", "items": _STR}


def _schema(name: str, title: str, body: dict[str, Any], defs: dict | None = None) -> dict:
    out = {"$schema": DRAFT, "$id": ID.format(name=name), "title": title, **body}
    if defs:
        out["$defs"] = defs
    return out


def _obj(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


_VIOLATION = _obj({
    "line": _INT, "rule": _STR, "section": _STR,
    "message": {**_STR, "description": "one sentence in the guide's words, naming the rule "
                "once with its guide section"},
    "expected": {**_STRS, "description": "every event the spec allowed at that line"},
    "states": {"type": "array", "items": _STRS,
               "description": "the configurations the client could have been in (the "
               "spec's state ids)"},
    "alternatives": {**_STRS, "description": "the few allowed events the message names"},
    "where": {**_STRS, "description": "the configurations in the guide's words"},
    "source": {"type": ["string", "null"], "description": "the trace line"},
}, ["line", "rule", "section", "message", "expected", "states"])

_COVERAGE_SUMMARY = _obj({"coverage": _obj({
    "transitions": _obj({"exercised": _STRS, "never": _STRS}, ["exercised", "never"]),
    "states": _obj({"exercised": _STRS, "never": _STRS}, ["exercised", "never"]),
    "rules": _obj({"exercised": _STRS, "never_on_a_transition": _STRS},
                  ["exercised", "never_on_a_transition"]),
}, ["transitions", "states", "rules"])}, ["coverage"])

_COUNT = {"type": "integer", "minimum": 0}
_FLEET_SUMMARY = {**_COVERAGE_SUMMARY, "properties": {
    **_COVERAGE_SUMMARY["properties"],
    "traces": _COUNT, "conformant": _COUNT, "non_conformant": _COUNT, "unusable": _COUNT,
    "lines": _COUNT,
    "violations_by_rule": {"type": "array", "items": _obj({
        "rule": _STR, "section": _STR, "traces": _COUNT,
        "sample": _obj({"trace": _STR, "line": _INT}, ["trace", "line"]),
    }, ["rule", "section", "traces", "sample"])},
    "by_client": {"type": "array", "items": _obj({
        "client": _STR, "sdkVersion": _STR, "traces": _COUNT, "conformant": _COUNT,
        "non-conformant": _COUNT, "unusable": _COUNT,
        "rules": {"type": "object", "additionalProperties": _COUNT,
                  "description": "rule id -> traces of this client breaking it"},
    }, ["client", "sdkVersion", "traces"])},
}}

VALIDATE = _schema("validate-output", "exovoice validate --format json: one line", {
    "description": "One object per trace per line; with --coverage a last line "
    "{\"summary\": {\"coverage\": ...}}; with --summary only the fleet report "
    "{\"summary\": {\"traces\", ..., \"violations_by_rule\", \"by_client\", "
    "\"coverage\"}} (client and sdkVersion \"-\" when a trace's meta line has none).",
    "oneOf": [{"$ref": "#/$defs/trace"}, _obj({"summary": _FLEET_SUMMARY}, ["summary"])],
}, {
    "violation": _VIOLATION,
    "trace": _obj({
        "trace": _STR,
        "conformant": {"type": ["boolean", "null"],
                       "description": "null: the trace is unusable (see unusable)"},
        "violations": {"type": "array", "items": {"$ref": "#/$defs/violation"}},
        "coverage": {"oneOf": [{"type": "null"}, _obj(
            {"transitions": {"type": "object", "additionalProperties": _INT},
             "states": _STRS}, ["transitions", "states"])]},
        "unusable": _STR,
    }, ["trace", "conformant", "violations", "coverage"]),
})

# "error" (added compatibly): not started, the client had stopped answering the protocol
_VERDICT = {"enum": ["passed", "failed", "not-run", "error"]}
_COUNTS = _obj({"passed": _INT, "failed": _INT, "not-run": _INT}, ["passed", "failed", "not-run"])

CONFORM = _schema("conform-output", "exovoice conform --format json: one line", {
    "description": "One object per scenario per line as each finishes, then one "
    "{\"summary\": ...} line.",
    "oneOf": [{"$ref": "#/$defs/scenario"}, _obj({"summary": {"$ref": "#/$defs/summary"}},
                                                  ["summary"])],
}, {
    "violation": _VIOLATION,
    "scenario": _obj({
        "scenario": _STR, "feature": _STR, "uri": _STR, "line": _INT,
        "sections": _STRS, "tags": _STRS, "verdict": _VERDICT, "reason": _STR,
        "duration": _NUM,
        "steps": {"type": "array", "items": _obj(
            {"keyword": _STR, "name": _STR, "line": _INT,
             "status": {"enum": ["passed", "failed", "skipped"]}},
            ["keyword", "name", "line", "status"])},
        "callbacks": {**_STRS, "description": "the SDK's callbacks"},
        "callkit_lines": {**_STRS, "description": "the CallKit lines the app wrote"},
        "app_calls": {**_STRS, "description": "API calls the client's app layer made itself"},
        "violation": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/violation"}]},
        "diagnosis": {"oneOf": [{"type": "null"},
                                _obj({"message": _STR, "detail": _STR}, ["message", "detail"])]},
        "protocol_error": {"type": ["string", "null"]},
    }, ["scenario", "uri", "line", "sections", "verdict", "steps", "violation"]),
    "summary": _obj({
        "client": _STR, "selection": _STR, "seconds": _NUM, "scenarios": _INT,
        "passed": _INT, "failed": _INT, "not_run": _INT, "not_reached": _INT,
        "errors": {**_INT, "description": "scenarios not started: the client had stopped "
                   "answering the adapter protocol"},
        "by_section": {"type": "object", "additionalProperties": _COUNTS},
        "exit": {"enum": [0, 1, 2]},
    }, ["client", "scenarios", "passed", "failed", "not_run", "by_section", "exit"]),
})

RULES = _schema("rules-output", "exovoice rules --format json", {
    "type": "array",
    "items": _obj({"id": _STR, "section": _STR, "text": _STR,
                   "permissive": {"type": ["string", "null"]},
                   "quote": {"type": ["string", "null"],
                             "description": "the guide's own words, where the rule has them"},
                   "used_by": _STRS},
                  ["id", "section", "text", "permissive", "used_by"]),
})

SCHEMAS: dict[str, dict[str, Any]] = {
    "validate": VALIDATE,
    "conform": CONFORM,
    "rules": RULES,
}
