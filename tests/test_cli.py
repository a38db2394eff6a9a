from __future__ import annotations

import json

import pytest

from exovoice.spec.cli import main
from exovoice.spec.rules import RULES


def test_rules_json_lists_every_rule_with_its_users(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data] == list(RULES)
    by_id = {r["id"]: r for r in data}
    assert "CALL-DIAL:no_call->outgoing_initiated" in by_id["CALL-DIAL"]["used_by"]
    assert any("dial" in u for u in by_id["PSTN-NO-DIAL"]["used_by"])
    # every rule is used by a transition or a refusal: no rule is only prose
    assert [r["id"] for r in data if not r["used_by"]] == []


def test_rules_text_shows_sections_and_permissive_readings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "PSTN-NO-DIAL" in out and "§4.8" in out
    assert "permissive: The Call State Flow diagram says relaySessionData throws" in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["no-such-command"])
    assert e.value.code == 2
