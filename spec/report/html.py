"""The HTML report of `exovoice validate --report` and `exovoice conform --report`: one file,
self-contained (its SVG, CSS and script inline; it loads nothing from anywhere), that a person
opens to see what went wrong and where.

- the verdicts by guide section;
- violations by rule, as a bar chart (a fleet of traces fails in a few ways, many times);
- coverage as a heat-map on the call-state diagram: how often the runs took each transition;
- each failing scenario or trace: the call-state diagram the spec draws, with the transitions
  the trace took drawn on it and the violating step in red (the state the call was in, and
  where the offending event would have been allowed), the trace beside it with the violating
  line highlighted, the rule, its guide section and the guide's own words where the rule has
  them. A click on a violation scrolls to its trace line.
"""

from __future__ import annotations

import html
import json
import math
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..rules import RULES
from ..validate.engine import Violation
from ..validate.run import Options, TraceVerdict, judge_file

CHART = "call-state"


@dataclass
class Case:
    """One failing scenario or trace, as the report shows it."""

    title: str
    verdict: str  # failed | non-conformant | unusable
    violation: Violation | None
    trace: list[str]  # the trace's lines
    sections: list[str] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)  # the transitions the trace took
    steps: list[tuple[str, str]] = field(default_factory=list)  # (mark, text)
    callbacks: list[str] = field(default_factory=list)
    reason: str = ""
    where: str = ""


@dataclass
class Diagram:
    """The call-state chart drawn once, as SVG text with element ids, and which transitions
    each arrow stands for."""

    svg: str
    arrows: dict[str, list[str]]
    error: str = ""

    @classmethod
    def draw(cls) -> "Diagram":
        from ..diagrams.dot import to_dot
        from ..diagrams.extract import extract
        from ..diagrams.render import GraphvizMissing, run_dot

        ids: dict[str, list[str]] = {}
        try:
            svg = run_dot(to_dot(extract(CHART), ids), "svg").decode()
        except (GraphvizMissing, RuntimeError, OSError) as e:
            return cls("", {}, f"the diagram needs Graphviz: {e}")
        svg = svg[svg.index("<svg"):]  # the XML prolog and doctype cannot sit inside HTML
        # scale to the page: keep the viewBox, drop the fixed size in points
        svg = re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg', svg, count=1)
        return cls(svg, ids)

    def arrows_for(self, transitions: Iterable[str]) -> set[str]:
        want = set(transitions)
        return {a for a, ts in self.arrows.items() if want & set(ts)}

    def arrows_of_event(self, event: str) -> set[str]:
        return {a for a, ts in self.arrows.items() if any(_event_of(t) == event for t in ts)}

    def copy(self, prefix: str, classes: dict[str, set[str]], styles: dict[str, str] | None = None
             ) -> str:
        """The SVG with ids made unique by `prefix` and classes (and inline styles) added to
        the elements named in `classes` / `styles` (by their unprefixed id)."""
        if not self.svg:
            return f'<p class="note">{html.escape(self.error)}</p>'
        styles = styles or {}

        def g(m: re.Match[str]) -> str:
            eid, cls = m.group(1), m.group(2)
            extra = " ".join(sorted(classes.get(eid, set())))
            style = f' style="{styles[eid]}"' if eid in styles else ""
            return f'<g id="{prefix}{eid}" class="{cls}{" " + extra if extra else ""}"{style}'

        svg = re.sub(r'<g id="((?:state|arrow)_[^"]+)" class="([^"]*)"', g, self.svg)
        svg = re.sub(r'id="(graph|clust|node|edge|a_)', rf'id="{prefix}\1', svg)
        return svg


_EVENT_BY_TRANSITION: dict[str, str] = {}


def _event_of(transition: str) -> str:
    """The event of a transition id (RULE:src->dst), from the spec's transitions."""
    if not _EVENT_BY_TRANSITION:
        from ..base import transition_id
        from ..charts.model import ClientModel, transitions_of

        for t, _spec in transitions_of(ClientModel):
            for e in t.events:
                _EVENT_BY_TRANSITION.setdefault(transition_id(t), str(e))
        from ..diagrams.extract import extract

        for e in extract(CHART).edges:
            for src in e.covers:
                _EVENT_BY_TRANSITION.setdefault(f"{e.rule_id}:{src}->{e.target}", e.event)
    return _EVENT_BY_TRANSITION.get(transition, "")


def _quote(rule_id: str) -> str | None:
    rule = RULES.get(rule_id)
    return getattr(rule, "quote", None) if rule is not None else None


def _section(s: str) -> str:
    return f"§{s}" if s[:1].isdigit() else s


def _section_key(s: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in s.split("."))


# --- building the cases ----------------------------------------------------------------------
def judge_text(text: str, callkit: bool = False) -> TraceVerdict:
    """A trace's verdict with the transitions it took (the report draws its path)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "trace.jsonl"
        path.write_text(text, encoding="utf-8")
        return judge_file(path, Options(callkit=callkit, coverage=True, allow_empty=True))


def cases_from_verdicts(verdicts: Sequence[TraceVerdict]) -> list[Case]:
    out = []
    for v in verdicts:
        if v.conformant is True:
            continue
        trace: list[str] = []
        if v.trace != "<stdin>":
            try:
                trace = Path(v.trace).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                trace = []
        x = v.violations[0] if v.violations else None
        if not trace and x is not None and x.source:
            trace = [""] * (x.line - 1) + [x.source]
        sections = [x.section] if x is not None else []
        out.append(Case(v.trace, "unusable" if v.conformant is None else "non-conformant", x,
                        trace, sections, dict(v.fired), reason=v.unusable or "",
                        where=v.trace))
    return out


# --- the page --------------------------------------------------------------------------------
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;
color:#1b2631;background:#fafbfc}
header{background:#1b2631;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
main{padding:16px 24px;max-width:1800px}
h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:28px}
table.verdicts{border-collapse:collapse}table.verdicts td,table.verdicts th{padding:3px 12px;
border-bottom:1px solid #e5e8eb;text-align:right}table.verdicts td:first-child,
table.verdicts th:first-child{text-align:left}
.bad{color:#b42318;font-weight:600}.good{color:#1a7f37}.skip{color:#9a6700}
.case{border:1px solid #d0d7de;border-radius:6px;background:#fff;margin:18px 0;padding:12px 16px}
.case h3{margin:0 0 6px 0}.violation-link{color:#b42318;text-decoration:underline;cursor:pointer}
.side{display:flex;gap:16px;align-items:flex-start}.side .diagram{flex:1 1 55%;overflow:auto;
max-height:900px;border:1px solid #eee}.diagram svg{width:100%;height:auto}
.trace{flex:1 1 45%;font:12px/1.5 ui-monospace,Menlo,Consolas,monospace;margin:0;padding:0;
list-style:none;max-height:900px;overflow:auto;border:1px solid #eee}
.trace li{white-space:pre-wrap;word-break:break-all;padding:0 6px}
.trace li .n{color:#8c959f;display:inline-block;width:3.5em;user-select:none}
.trace li.violating{background:#ffebe9;outline:2px solid #cf222e}
.trace li.flash{animation:flash 1.2s}@keyframes flash{from{background:#ffd8d3}to{}}
blockquote.quote{border-left:4px solid #8c959f;margin:6px 0;padding:2px 10px;color:#424a53;
font-style:italic}
g.taken path,g.taken polygon{stroke:#0969da;stroke-width:3}g.taken polygon{fill:#0969da}
g.taken text{fill:#0969da}
g.violating path,g.violating polygon{stroke:#cf222e !important;stroke-width:3}
g.violating polygon{fill:#ffebe9}g.violating text{fill:#cf222e;font-weight:700}
g.would path{stroke:#cf222e;stroke-dasharray:6 4;stroke-width:2}
g.would text{fill:#cf222e}
.legend span{display:inline-block;margin-right:16px}.swatch{display:inline-block;width:26px;
height:4px;vertical-align:middle;margin-right:4px}
.bars rect{fill:#cf222e}.bars text{font-size:12px;fill:#1b2631}
.note{color:#57606a}
"""

JS = """
document.querySelectorAll('[data-line]').forEach(function (a) {
  a.addEventListener('click', function (ev) {
    ev.preventDefault();
    var li = document.getElementById(a.getAttribute('data-line'));
    if (!li) return;
    li.scrollIntoView({block: 'center'});
    li.classList.remove('flash'); void li.offsetWidth; li.classList.add('flash');
    var list = li.parentElement;
    if (list) list.scrollTop = li.offsetTop - list.clientHeight / 2;
  });
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _heat(counts: dict[str, int]) -> dict[str, str]:
    """arrow id -> an inline style from cold (taken once) to hot (taken most)."""
    if not counts:
        return {}
    top = max(counts.values())
    out = {}
    for arrow, n in counts.items():
        f = math.log1p(n) / math.log1p(top) if top > 0 else 0
        hue = int(220 - 220 * f)  # blue .. red
        width = 1.5 + 4 * f
        out[arrow] = f"--heat:hsl({hue},80%,45%);stroke-width:{width:.1f}"
    return out


def _bars(counts: Counter) -> str:
    if not counts:
        return '<p class="note">no violation</p>'
    rows = counts.most_common()
    top = rows[0][1]
    h = 22
    width = 640
    parts = [f'<svg class="bars" width="{width + 260}" height="{h * len(rows) + 6}" '
             'role="img" aria-label="violations by rule">']
    for i, (rule, n) in enumerate(rows):
        w = max(2, int(width * n / top))
        y = i * h + 3
        parts.append(f'<text x="0" y="{y + 15}">{_e(rule)}</text>'
                     f'<rect x="200" y="{y}" width="{w}" height="{h - 6}" data-rule="{_e(rule)}">'
                     f'<title>{_e(rule)}: {n}</title></rect>'
                     f'<text x="{206 + w}" y="{y + 15}">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _verdict_table(rows: dict[str, dict[str, int]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in ("guide section", *columns))
    body = []
    for sec in sorted(rows, key=_section_key):
        cells = []
        for c in columns:
            n = rows[sec].get(c, 0)
            cls = ("bad" if c in ("failed", "non-conformant", "violations", "unusable") and n
                   else "skip" if c == "not-run" and n else "good" if n else "")
            cells.append(f'<td class="{cls}">{n}</td>')
        body.append(f"<tr><td>{_e(_section(sec))}</td>{''.join(cells)}</tr>")
    return f'<table class="verdicts" id="verdicts"><tr>{head}</tr>{"".join(body)}</table>'


def _case_html(k: int, case: Case, diagram: Diagram) -> str:
    prefix = f"c{k}-"
    v = case.violation
    classes: dict[str, set[str]] = defaultdict(set)
    for a in diagram.arrows_for(case.fired):
        classes[a].add("taken")
    if v is not None:
        for config in v.states:
            for sid in config:
                classes[f"state_{sid}"].add("violating")
        event = _event_from_source(v.source)
        if event:
            for a in diagram.arrows_of_event(event):
                if "taken" not in classes[a]:
                    classes[a].add("would")
    line_id = f"{prefix}line-{v.line}" if v is not None else ""
    trace_items = []
    for n, text in enumerate(case.trace, 1):
        cls = ' class="violating"' if v is not None and n == v.line else ""
        trace_items.append(f'<li id="{prefix}line-{n}"{cls}><span class="n">{n}</span>'
                           f"{_e(text)}</li>")
    head = f'<h3 id="{prefix}case">{_e(case.title)}</h3>'
    facts = []
    if case.where and case.where != case.title:
        facts.append(f'<div class="note">{_e(case.where)}</div>')
    if v is not None:
        quote = _quote(v.rule)
        facts.append(
            f'<p><a class="violation-link" href="#{line_id}" data-line="{line_id}" '
            f'id="{prefix}violation">line {v.line}: {_e(v.message)}</a></p>')
        rule = RULES.get(v.rule)
        if rule is not None:
            facts.append(f'<p><b>{_e(rule.id)}</b> (guide {_e(_section(rule.section))}): '
                         f"{_e(rule.text)}</p>")
        if quote:
            facts.append(f'<blockquote class="quote" id="{prefix}quote">{_e(quote)}'
                         "</blockquote>")
    elif case.reason:
        facts.append(f'<p class="bad">{_e(case.reason)}</p>')
    if case.steps:
        facts.append("<ul class='steps'>" + "".join(
            f"<li>{_e(m)} {_e(t)}</li>" for m, t in case.steps) + "</ul>")
    if case.callbacks:
        facts.append(f'<p class="note">callbacks seen: {_e(", ".join(case.callbacks))}</p>')
    return (f'<section class="case" id="{prefix}">{head}{"".join(facts)}'
            f'<div class="side"><div class="diagram">{diagram.copy(prefix, classes)}</div>'
            f'<ol class="trace">{"".join(trace_items)}</ol></div></section>')


def _event_from_source(source: str | None) -> str:
    if not source:
        return ""
    try:
        d = json.loads(source)
    except ValueError:
        return ""
    return str(d.get("name", "")) if isinstance(d, dict) else ""


LEGEND = ('<p class="legend"><span><i class="swatch" style="background:#0969da"></i>'
          "the path the trace took</span><span><i class=\"swatch\" style=\"background:#cf222e\">"
          "</i>where it broke the spec: the state the call was in; dashed, where the offending "
          "event would have been allowed</span></p>")


def page(title: str, summary: str, table: str, bars: str, heat: str, cases: list[str]) -> str:
    body = "".join(cases) or '<p class="good">Nothing failed.</p>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body><header><h1>{_e(title)}</h1><div>{summary}</div></header><main>
<h2>Verdicts by guide section</h2>{table}
<h2>Violations by rule</h2><div id="by-rule">{bars}</div>
<h2>Coverage</h2><p class="note">How often the transitions of the call-state chart were
taken (blue: rarely, red: most).</p><div class="diagram heat" id="heat">{heat}</div>
<h2>What failed</h2>{LEGEND}<div id="cases">{body}</div>
</main><script>{JS}</script></body></html>
"""


def _heat_svg(diagram: Diagram, fired: dict[str, int]) -> str:
    counts: Counter = Counter()
    for arrow, ts in diagram.arrows.items():
        for t in ts:
            if t in fired:
                counts[arrow] += fired[t]
    styles = {a: s for a, s in _heat(dict(counts)).items()}
    classes = {a: {"hot"} for a in counts}
    svg = diagram.copy("heat-", classes, styles)
    return svg + ("<style>g.hot path{stroke:var(--heat)}g.hot polygon{stroke:var(--heat);"
                  "fill:var(--heat)}</style>")


def render(title: str, summary: str, rows: dict[str, dict[str, int]], columns: Sequence[str],
           cases: list[Case], fired: dict[str, int], by_rule: Counter) -> str:
    diagram = Diagram.draw()
    return page(title, summary, _verdict_table(rows, columns), _bars(by_rule),
                _heat_svg(diagram, fired), [_case_html(k, c, diagram)
                                            for k, c in enumerate(cases)])


def validate_report(verdicts: Sequence[TraceVerdict], fired: dict[str, int]) -> str:
    cases = cases_from_verdicts(verdicts)
    counts = Counter("conformant" if v.conformant else "unusable" if v.conformant is None
                     else "non-conformant" for v in verdicts)
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_rule: Counter = Counter()
    for v in verdicts:
        for x in v.violations:
            rows[x.section]["violations"] += 1
            by_rule[x.rule] += 1
    summary = (f"{len(verdicts)} traces: {counts['conformant']} conformant, "
               f"{counts['non-conformant']} non-conformant, {counts['unusable']} unusable")
    return render("exovoice validate", _e(summary), rows, ("violations",), cases, fired,
                  by_rule)


def conform_page(label: str, rows: dict[str, dict[str, int]], cases: list[Case],
                 fired: dict[str, int], totals: dict[str, int]) -> str:
    by_rule = Counter(c.violation.rule for c in cases if c.violation is not None)
    summary = (f"client {label}: {sum(totals.values())} scenarios, {totals.get('passed', 0)} "
               f"passed, {totals.get('failed', 0)} failed, {totals.get('not-run', 0)} not-run")
    return render(f"exovoice conform: {label}", _e(summary), rows,
                  ("passed", "failed", "not-run"), cases, fired, by_rule)
