"""`exovoice schema`: every JSON a machine reads from exovoice has a JSON Schema with an $id,
and what the commands really print validates against it (the adapter protocol's messages as
its documentation shows them, validate's, conform's and rules' --format json output)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from exovoice.spec.cli import main

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("trace", "adapter", "validate", "conform", "rules")


def schema(name: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["schema", name]) == 0
    return json.loads(capsys.readouterr().out)


def validator(name: str, capsys: pytest.CaptureFixture[str]) -> Draft202012Validator:
    s = schema(name, capsys)
    Draft202012Validator.check_schema(s)
    return Draft202012Validator(s)


def test_every_schema_is_valid_and_has_an_id(capsys: pytest.CaptureFixture[str]) -> None:
    ids = set()
    for name in NAMES:
        s = schema(name, capsys)
        Draft202012Validator.check_schema(s)
        assert s["$id"].startswith("urn:exovoice:schema:")
        ids.add(s["$id"])
    assert len(ids) == len(NAMES)
    assert main(["schema", "all"]) == 0
    assert sorted(json.loads(capsys.readouterr().out)) == sorted(NAMES)


def test_the_adapter_protocol_documentation_matches_its_schema(
        capsys: pytest.CaptureFixture[str]) -> None:
    v = validator("adapter", capsys)
    doc = (ROOT / "docs" / "adapter-protocol.md").read_text(encoding="utf-8")
    messages = [json.loads(m) for m in re.findall(r"^\s+(?:->|<-) (\{.*\})\s*$", doc, re.M)]
    assert len(messages) > 20
    for m in messages:
        errors = list(v.iter_errors(m))
        assert not errors, (m, errors[0].message)
    assert list(v.iter_errors({"id": 1, "op": "hello"}))  # a request without v is not one


def test_validate_output_matches_its_schema(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    v = validator("validate", capsys)
    ok = tmp_path / "ok.jsonl"
    ok.write_text('{"kind":"api","name":"initialize","args":{"subscriberName":"a"}}\n'
                  '{"kind":"callback","name":"onInitializationSuccess"}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind":"callback","name":"onCallRinging","call":"c1"}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    main(["validate", "--format", "json", "--coverage", str(tmp_path)])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4 and "summary" in lines[-1]
    for line in lines:
        errors = list(v.iter_errors(line))
        assert not errors, (line, errors[0].message)


def test_conform_and_rules_output_match_their_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    v = validator("conform", capsys)
    from exovoice.spec.conform.runner import main as conform

    conform(["--client", "broken:ringing-on-incoming", "-k", "never_rings or in_progress",
             "--format", "json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert any(x.get("verdict") == "failed" for x in lines) and "summary" in lines[-1]
    for line in lines:
        errors = list(v.iter_errors(line))
        assert not errors, (line, errors[0].message)
    r = validator("rules", capsys)
    assert main(["rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    errors = list(r.iter_errors(rules))
    assert not errors, errors[0].message
