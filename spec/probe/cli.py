"""The command line of `exovoice probe-backend` (see `checks` for what is judged)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..endpoints import HTTP_TIMEOUT
from .checks import FAIL, PASS, SKIP, Check, Target, probe

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2
USER_ENV, PASSWORD_ENV = "EXOVOICE_PUSH_USER", "EXOVOICE_PUSH_PASSWORD"

DESCRIPTION = f"""\
Check a customer backend's live Dial Whom and push endpoints against guide 5.1, calling them
as the Exotel platform does: the Dial Whom GET with the platform's query for a caller the
backend routes and for one it does not; the push POST with the platform's JSON body and
basic-auth credentials, then with wrong and with no credentials. Each check is reported with
its guide section, pass/fail and the evidence (request and response excerpt). Only the URLs
given are contacted.

Push credentials, in this order: the push URL's userinfo (https://key:token@host/...), the file
named by --credentials (JSON {{"user": ..., "password": ...}}, readable by you alone), or the
environment ({USER_ENV}, {PASSWORD_ENV}). They are never printed."""

EPILOG = """\
Exit status: 0 every check that ran passed; 1 some check failed; 2 usage (no URL, a URL that
is not http(s), an unreadable credentials file, an unwritable --junit-xml), one line on stderr."""


def add_probe_parser(sub: Any) -> None:
    p = sub.add_parser("probe-backend", help="check a customer's live Dial Whom and push "
                       "endpoints against guide 5.1", description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dial-whom-url", metavar="URL", help="the Dial Whom endpoint (5.1.1)")
    p.add_argument("--push-url", metavar="URL", help="the push endpoint (5.1.2)")
    p.add_argument("--credentials", type=Path, metavar="FILE",
                   help='push credentials: JSON {"user": ..., "password": ...} (mode 0600)')
    p.add_argument("--caller", default="alice", metavar="NAME",
                   help="a caller the backend routes (CallFrom sip:NAME; default alice)")
    p.add_argument("--custom-field", metavar="TEXT", help="the dial message (CustomField)")
    p.add_argument("--subscriber", default="bob", metavar="NAME",
                   help="the subscriber a push is for (a device of theirs gets it; default bob)")
    p.add_argument("--limit", type=float, default=HTTP_TIMEOUT, metavar="S",
                   help=f"the platform's wait for an answer (default {HTTP_TIMEOUT:g} s)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--junit-xml", type=Path, metavar="FILE",
                   help="also write the checks as JUnit XML (a failure per failed check)")
    p.set_defaults(func=run)


class Usage(Exception):
    pass


def _url(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Usage(f"{flag}: not an http(s) URL: {parts.scheme or '(no scheme)'}://...")
    return value


def _credentials(path: Path | None) -> tuple[str, str] | None:
    if path is not None:
        try:
            st = path.stat()
            if st.st_mode & 0o077:
                raise Usage(f"--credentials: {path} may be read by other users; chmod 600 it")
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise Usage(f"--credentials: cannot read {path}: {e.strerror}") from None
        except ValueError as e:
            raise Usage(f"--credentials: {path} is not JSON: {e}") from None
        if not (isinstance(data, dict) and isinstance(data.get("user"), str)
                and isinstance(data.get("password"), str)):
            raise Usage(f'--credentials: {path} must be {{"user": ..., "password": ...}}')
        return data["user"], data["password"]
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user is not None:
        return user, password or ""
    return None


def junit(checks: list[Check]) -> ET.ElementTree:
    fails = sum(c.verdict == FAIL for c in checks)
    skips = sum(c.verdict == SKIP for c in checks)
    suite = ET.Element("testsuite", name="probe-backend", tests=str(len(checks)),
                       failures=str(fails), errors="0", skipped=str(skips))
    for c in checks:
        case = ET.SubElement(suite, "testcase", classname=f"guide.{c.section}", name=c.id)
        if c.verdict == FAIL:
            f = ET.SubElement(case, "failure", message=f"[{c.section}] {c.reason}")
            f.text = json.dumps(c.evidence, indent=1)
        elif c.verdict == SKIP:
            ET.SubElement(case, "skipped", message=c.reason)
    return ET.ElementTree(suite)


def _text(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{c.verdict.upper():<4}  [{c.section}] {c.id}: {c.title}")
        lines.append(f"      {c.reason}")
        if c.verdict == FAIL:
            for e in c.evidence:
                case = f"({e['case']}) " if "case" in e else ""
                lines.append(f"      {case}{e['request']} -> {e['status']} "
                             f"{e['content_type'] or ''} {e['seconds']} s")
                if e.get("body"):
                    lines.append(f"        {' '.join(str(e['body']).split())[:160]}")
    ran = [c for c in checks if c.verdict != SKIP]
    passed = sum(c.verdict == PASS for c in ran)
    lines.append(f"{passed} of {len(ran)} checks passed"
                 + (f", {len(checks) - len(ran)} not run" if len(ran) < len(checks) else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        dial = _url(args.dial_whom_url, "--dial-whom-url")
        push = _url(args.push_url, "--push-url")
        if dial is None and push is None:
            raise Usage("give --dial-whom-url, --push-url or both")
        if args.limit <= 0:
            raise Usage("--limit must be positive")
        auth = _credentials(args.credentials)
        if args.junit_xml is not None:
            from ..outputs import PathProblem, check_file

            try:
                check_file(args.junit_xml, "--junit-xml")
            except PathProblem as e:
                raise Usage(str(e)) from None
    except Usage as e:
        print(f"exovoice probe-backend: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    target = Target(dial, push, auth, caller=args.caller, custom_field=args.custom_field,
                    subscriber=args.subscriber, limit=args.limit)
    checks = probe(target)
    if args.format == "json":
        print(json.dumps({"ok": not any(c.verdict == FAIL for c in checks),
                          "checks": [c.as_json() for c in checks]}))
    else:
        print(_text(checks))
    if args.junit_xml is not None:
        args.junit_xml.parent.mkdir(parents=True, exist_ok=True)
        junit(checks).write(args.junit_xml, encoding="utf-8", xml_declaration=True)
    return EXIT_FAILED if any(c.verdict == FAIL for c in checks) else EXIT_OK
