"""The HTML report, opened in a real browser: Debian's Chromium, headless, driven by selenium
through Debian's chromedriver. It must show the verdict table, the violating trace line and
diagram state highlighted, the path the trace took, violations by rule, coverage as a
heat-map, and a click on a violation must scroll to its trace line; a screenshot of each
report is left in build/test-artifacts/ for a person to look at."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from exovoice.spec.cli import main as exovoice
from exovoice.spec.conform.runner import main as conform
from exovoice.spec.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "test-artifacts"


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    assert browser and driver, ("Chromium and its driver are missing: `python3 run.py test` "
                                "installs Debian's chromium and chromium-driver")
    return browser, driver


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    binary, driver = _chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):
        opts.add_argument(arg)
    b = webdriver.Chrome(service=Service(driver), options=opts)
    try:
        yield b
    finally:
        b.quit()


def in_view(b: webdriver.Chrome, element_id: str) -> bool:
    return bool(b.execute_script(
        "var r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return r.top >= 0 && r.bottom <= window.innerHeight;", element_id))


def self_contained(page: str) -> None:
    """Nothing is fetched: no script or image source, no stylesheet link, no url()."""
    assert not re.search(r"<(?:script|img|iframe)[^>]*\ssrc=", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_conform_report_in_a_browser(tmp_path: Path, browser: webdriver.Chrome,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "conform.html"
    assert conform(["--client", "broken:ringing-on-incoming", "--tags",
                    "guide-4.3.2 or guide-4.8", "--report", str(report)]) == 1
    capsys.readouterr()
    page = report.read_text(encoding="utf-8")
    self_contained(page)
    browser.get(report.as_uri())
    b = browser
    # the verdict table by guide section
    rows = {r.find_element(By.CSS_SELECTOR, "td").text: r
            for r in b.find_elements(By.CSS_SELECTOR, "#verdicts tr")[1:]}
    assert "§4.3.2" in rows and "§4.8" in rows
    failed_cell = rows["§4.3.2"].find_elements(By.CSS_SELECTOR, "td")[2]
    assert int(failed_cell.text) >= 1 and "bad" in failed_cell.get_attribute("class")
    # violations by rule, and the heat-map on the diagram
    assert b.find_elements(By.CSS_SELECTOR, "#by-rule rect[data-rule='CALL-RINGING']")
    assert len(b.find_elements(By.CSS_SELECTOR, "#heat g.hot")) >= 5
    # the first failing scenario: its diagram and trace
    case = b.find_element(By.ID, "c0-")
    violating = case.find_elements(By.CSS_SELECTOR, "ol.trace li.violating")
    assert len(violating) == 1
    line_id = violating[0].get_attribute("id")
    assert '"onCallRinging"' in violating[0].text
    assert case.find_elements(By.CSS_SELECTOR, "svg g.state.violating")  # the call's state
    assert case.find_elements(By.CSS_SELECTOR, "svg g.arrow.taken")  # the path it took
    assert case.find_elements(By.CSS_SELECTOR, "svg g.arrow.would")  # where it was allowed
    # the rule's guide quote, where the rule has one
    if getattr(RULES["CALL-RINGING"], "quote", None):
        assert case.find_element(By.CSS_SELECTOR, "blockquote.quote").text.strip()
    # a click on the violation scrolls to its trace line
    b.execute_script("window.scrollTo(0, 0)")
    assert not in_view(b, line_id)
    link = case.find_element(By.CSS_SELECTOR, "a.violation-link")
    assert link.get_attribute("data-line") == line_id
    b.execute_script("arguments[0].scrollIntoView({block: 'start'})", link)
    b.execute_script("window.scrollBy(0, -200)")
    link.click()
    assert in_view(b, line_id)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert b.save_screenshot(str(ARTIFACTS / "report-conform.png"))


def test_validate_report_of_a_fleet_in_a_browser(tmp_path: Path, browser: webdriver.Chrome,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    good = ['{"kind":"meta","name":"trace","args":{"version":1}}',
            '{"kind":"api","name":"initialize","args":{"subscriberName":"alice"}}',
            '{"kind":"callback","name":"onInitializationSuccess"}',
            '{"kind":"api","name":"dial","call":"c1","args":{"remoteId":"sip:1"}}',
            '{"kind":"callback","name":"onCallInitiated","call":"c1"}',
            '{"kind":"callback","name":"onCallRinging","call":"c1"}']
    bad_rating = [*good, '{"kind":"api","name":"postFeedback","call":"c1","args":'
                  '{"rating":9,"issue":"ECHO"}}']
    bad_ringing = good[:3] + ['{"kind":"api","name":"relaySessionData","args":{"payload":"x",'
                              '"payloadVersion":1,"subscriberName":"alice"}}',
                              '{"kind":"callback","name":"onIncomingCall","call":"c1"}',
                              '{"kind":"callback","name":"onCallRinging","call":"c1"}']
    for i, lines in enumerate([good, good, bad_rating, bad_ringing, bad_ringing]):
        (fleet / f"t{i}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp_path / "validate.html"
    assert exovoice(["validate", "--report", str(report), str(fleet)]) == 1
    capsys.readouterr()
    self_contained(report.read_text(encoding="utf-8"))
    browser.get(report.as_uri())
    b = browser
    bars = {r.get_attribute("data-rule") for r in b.find_elements(By.CSS_SELECTOR,
                                                                   "#by-rule rect")}
    assert len(bars) == 2 and "CALL-RINGING" in bars
    cases = b.find_elements(By.CSS_SELECTOR, "#cases section.case")
    assert len(cases) == 3
    for case in cases:
        assert len(case.find_elements(By.CSS_SELECTOR, "ol.trace li.violating")) == 1
    assert b.find_elements(By.CSS_SELECTOR, "#heat g.hot")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert b.save_screenshot(str(ARTIFACTS / "report-validate.png"))


def test_a_report_path_that_cannot_be_written_is_exit_2_before_judging(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text(json.dumps({"kind": "meta", "name": "trace", "args": {"version": 1}})
                     + "\n")
    assert exovoice(["validate", "--report", str(tmp_path), str(trace)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"exovoice: --report {tmp_path}: is a directory, not a file"
