"""`exovoice probe-backend` against the sample backend (every check passes) and against
backends broken on purpose, each in one way, each failing exactly its check; real HTTP on
127.0.0.1, the command run as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from exovoice.reference.backend import CustomerBackend, RoutingTable
from exovoice.reference.backend.app import backend_app

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 0.6  # s: the probe's --limit in these tests (the "too slow" backend takes longer)
ALL = {"dial-whom.status", "dial-whom.content-type", "dial-whom.body", "dial-whom.time",
       "dial-whom.unknown-caller", "push.status", "push.time", "push.refuses-bad-credentials"}


class WrongFieldName(CustomerBackend):
    def answer_dial_whom(self, params: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        status, body = super().answer_dial_whom(params)
        if status == 200:
            body["destinations"] = body.pop("destination")
        return status, body


class WrongStatus(CustomerBackend):
    def answer_dial_whom(self, params: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        status, body = super().answer_dial_whom(params)
        return (201 if status == 200 else status), body


class AcceptsBadCredentials(CustomerBackend):
    def answer_push(self, auth: tuple[str, str] | None, raw: bytes) -> tuple[int, dict]:
        return super().answer_push((self.api_key, self.api_token), raw)


class TooSlow(CustomerBackend):
    """Answers Dial Whom right, after the platform's limit."""

    def build_app(self) -> Any:
        inner = backend_app()

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].endswith("/dialtonumber"):
                await asyncio.sleep(LIMIT + 0.3)
            await inner(scope, receive, send)
        return app


class AnswersHtml(CustomerBackend):
    """Where Dial Whom routes a caller, it answers a web page (a login page, a proxy's page)
    with 200 instead of the JSON; an unrouted caller still gets its 404."""

    def build_app(self) -> Any:
        inner = backend_app()

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if not (scope["type"] == "http" and scope["path"].endswith("/dialtonumber")):
                await inner(scope, receive, send)
                return
            said: list[dict[str, Any]] = []

            async def keep(message: dict[str, Any]) -> None:
                said.append(message)
            await inner(scope, receive, keep)
            if said and said[0].get("status") == 200:
                page = b"<!doctype html><html><body><h1>Welcome</h1></body></html>"
                said = [{"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(page)).encode())]},
                    {"type": "http.response.body", "body": page}]
            for message in said:
                await send(message)
        return app


def probe(backend: CustomerBackend, *extra: str, env: dict[str, str] | None = None
          ) -> tuple[int, dict[str, Any], str]:
    run_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "exovoice.spec", "probe-backend", "--dial-whom-url",
         backend.dial_whom_url, "--push-url", backend.push_url, "--limit", str(LIMIT),
         "--format", "json", *extra], cwd=ROOT, env=run_env, capture_output=True, text=True,
        timeout=60)
    out = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, out, proc.stderr


def start(cls: type[CustomerBackend]) -> CustomerBackend:
    backend = cls(RoutingTable(by_caller={"alice": "bob"}))
    backend.push_channel.register("bob", "bob-phone")
    return backend.start()


def verdicts(out: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in out["checks"]}


def test_the_sample_backend_passes_every_check(tmp_path):
    backend = start(CustomerBackend)
    try:
        junit = tmp_path / "probe.xml"
        code, out, err = probe(backend, "--junit-xml", str(junit))
    finally:
        backend.close()
    assert code == 0, (out, err)
    assert verdicts(out) == {k: "pass" for k in ALL}
    sections = {c["id"]: c["section"] for c in out["checks"]}
    assert sections["dial-whom.body"] == "5.1.1" and sections["push.status"] == "5.1.2"
    # the platform's request and the answer are the evidence; credentials never shown
    body = next(c for c in out["checks"] if c["id"] == "dial-whom.body")
    assert "CallSid=" in body["evidence"][0]["request"] and "sip:bob" in body["evidence"][0]["body"]
    assert "pushtoken" not in json.dumps(out)
    suite = etree.parse(str(junit)).getroot()
    assert suite.get("tests") == str(len(ALL)) and suite.get("failures") == "0"
    # what the backend received is what the platform sends
    assert backend.push_requests[0].keys() == {"subscriberName", "payload", "payloadVersion"}
    assert {"CallSid", "CallFrom", "CallTo", "CallStatus", "Direction"} <= set(
        backend.dial_whom_requests[0])


@pytest.mark.parametrize(("cls", "fails"), [
    (WrongFieldName, "dial-whom.body"),
    (WrongStatus, "dial-whom.status"),
    (TooSlow, "dial-whom.time"),
    (AcceptsBadCredentials, "push.refuses-bad-credentials"),
    (AnswersHtml, "dial-whom.content-type"),
])
def test_a_backend_broken_one_way_fails_exactly_that_check(cls, fails, tmp_path):
    backend = start(cls)
    try:
        junit = tmp_path / "probe.xml"
        code, out, err = probe(backend, "--junit-xml", str(junit))
    finally:
        backend.close()
    assert code == 1, (out, err)
    got = verdicts(out)
    assert [k for k, v in got.items() if v == "fail"] == [fails], got
    failed = next(c for c in out["checks"] if c["id"] == fails)
    assert failed["reason"] and failed["evidence"]
    suite = etree.parse(str(junit)).getroot()
    assert [t.get("name") for t in suite.iter("testcase") if t.find("failure") is not None] == [
        fails]


def test_text_output_and_credentials_from_the_environment(tmp_path):
    backend = start(CustomerBackend)
    bare = backend.base_url + backend.push_path  # no credentials in the URL
    env = dict(os.environ, PYTHONPATH=str(ROOT), EXOVOICE_PUSH_USER=backend.api_key,
               EXOVOICE_PUSH_PASSWORD=backend.api_token)
    try:
        proc = subprocess.run([sys.executable, "-m", "exovoice.spec", "probe-backend",
                               "--push-url", bare], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
    finally:
        backend.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS  [5.1.2] push.status" in proc.stdout
    assert "3 of 3 checks passed, 5 not run" in proc.stdout
    assert backend.api_token not in proc.stdout


@pytest.mark.parametrize("args", [
    [],
    ["--dial-whom-url", "ftp://127.0.0.1/x"],
    ["--push-url", "http://127.0.0.1:9/x", "--credentials", "/nonexistent/creds.json"],
    ["--push-url", "http://127.0.0.1:9/x", "--junit-xml", f"{__file__}/out.xml"],
])
def test_usage_errors_exit_2_in_one_line(args):
    proc = subprocess.run([sys.executable, "-m", "exovoice.spec", "probe-backend", *args],
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("exovoice probe-backend: ")


def test_an_unreachable_backend_fails_its_checks():
    code_out = subprocess.run(
        [sys.executable, "-m", "exovoice.spec", "probe-backend", "--dial-whom-url",
         "http://127.0.0.1:9/v1/accounts/x/dialtonumber", "--format", "json"], cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=60)
    assert code_out.returncode == 1
    out = json.loads(code_out.stdout)
    assert all(c["verdict"] in ("fail", "skip") for c in out["checks"])
    assert "no answer" in out["checks"][0]["reason"]
