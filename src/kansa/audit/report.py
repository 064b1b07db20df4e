"""The audit report: one self-contained HTML page a privacy officer can open, print and file.

It answers the questions an audit committee asks, in Japanese and English: who should we look
at (cases, riskiest first), whose data is concerned (owners), and what happened when (a
timeline per case: daily activity, rows read on a log scale, copies to removable media, and the
days detectors fired). Charts are inline SVG so that the page needs no script, no network and no
other file; it names people by actor id and counts records, never shows personal data.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup, escape

from kansa.audit.cases import list_cases
from kansa.audit.run import audit_state
from kansa.model.workspace import Workspace

MAX_CASES = 50  # cases drawn in full; the table lists them all

_PAGE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8">
<title>監査報告 / Audit report — {{ until }}</title>
<style>
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #999; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
th, td { border: 1px solid #bbb; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eee; } .high { color: #b00; font-weight: bold; } .medium { color: #b60; } .low { color: #666; }
.case { margin-bottom: 2em; } h3 { page-break-after: avoid; } .muted { color: #666; font-size: .85em; }
</style></head><body>
<h1>監査報告 / Audit report</h1>
<p>監査対象期間の最終日 / audited up to: <b>{{ until }}</b> · 作成 / generated: {{ generated }} ·
案件 / cases: <b>{{ cases|length }}</b> · 所見 / findings: <b>{{ n_findings }}</b></p>

<h2>注意すべき人物 / Top actors</h2>
{% if cases %}
<table><tr><th>案件 / case</th><th>重大度 / severity</th><th>リスク / risk</th><th>人物 / actor</th><th>役割 / role</th>
<th>検知日 / detected</th><th>最終 / last</th><th>検知 / detectors</th><th>対象者数 / subjects</th><th>判定 / verdict</th></tr>
{% for c in cases %}<tr><td><a href="#{{ c.case_id }}">{{ c.case_id }}</a></td><td class="{{ c.severity }}">{{ c.severity }}</td>
<td>{{ "%.1f"|format(c.risk_score) }}</td><td>{{ c.who }}</td><td>{{ c.role or "-" }}</td><td>{{ c.detected_at }}</td>
<td>{{ c.last_day }}</td><td>{{ c.detectors|map(attribute="rule")|join(", ") }}</td><td>{{ c.subjects }}</td>
<td>{{ c.verdict }}</td></tr>{% endfor %}
</table>
{% else %}<p>所見なし / no findings.</p>{% endif %}

<h2>影響を受けた委託元 / Owners affected</h2>
{% if owners %}
<table><tr><th>委託元 / owner</th><th>案件 / cases</th><th>人物 / actors</th><th>最初 / first</th></tr>
{% for o in owners %}<tr><td>{{ o.owner }}</td><td>{{ o.cases }}</td><td>{{ o.actors|join(", ") }}</td><td>{{ o.first }}</td></tr>{% endfor %}
</table>
{% else %}<p>なし / none.</p>{% endif %}

<h2>案件ごとの経過 / Case timelines</h2>
{% for c in drawn %}
<div class="case" id="{{ c.case_id }}">
<h3>{{ c.case_id }} — {{ c.who }} <span class="{{ c.severity }}">{{ c.severity }}</span> (risk {{ "%.1f"|format(c.risk_score) }})</h3>
<p>{{ c.explanation_ja }}</p><p class="muted">{{ c.explanation_en }}</p>
{{ c.svg }}
<table><tr><th>検知 / detector</th><th>件数 / findings</th><th>期間 / period</th><th>根拠 / reason</th></tr>
{% for d in c.detectors %}<tr><td>{{ d.rule }}</td><td>{{ d.findings }}</td><td>{{ d.first_day }} – {{ d.last_day }}</td>
<td>{{ d.reason_ja }}<br><span class="muted">{{ d.reason_en }}</span></td></tr>{% endfor %}
</table>
<p class="muted">委託元 / owners: {{ c.owners|join(", ") or "-" }} · 根拠イベント / evidence events:
{% for k, n in c.evidence_counts.items() %}{{ k }} {{ n }} {% endfor %}(kansa findings show {{ c.case_id }})</p>
</div>
{% endfor %}
{% if cases|length > drawn|length %}<p class="muted">… {{ cases|length - drawn|length }} more case(s) in the table above.</p>{% endif %}
</body></html>
"""

_W, _H, _PAD = 720, 150, 30


def timeline_svg(series: list[dict[str, Any]], title: str = "") -> Markup:
    """Daily rows read (log scale bars), removable-media writes (orange) and finding days (red)."""
    n = max(len(series), 1)
    step = (_W - 2 * _PAD) / n
    top = max((math.log10(1 + s["rows"]) for s in series), default=1.0) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H + 40}" role="img" '
             f'aria-label="{escape(title)}">',
             f'<line x1="{_PAD}" y1="{_H}" x2="{_W - _PAD}" y2="{_H}" stroke="#999"/>']
    for i, s in enumerate(series):
        x = _PAD + i * step
        h = (math.log10(1 + s["rows"]) / top) * (_H - 30)
        tip = escape(f"{s['day']}: {s['events']} events, {s['rows']} rows, "
                     f"{s['removable_writes']} removable writes, findings: {', '.join(s['rules']) or '-'}")
        fill = "#c33" if s["findings"] else "#8aa"
        parts.append(f'<rect x="{x:.1f}" y="{_H - h:.1f}" width="{max(step - 1, 1):.1f}" height="{h:.1f}" '
                     f'fill="{fill}"><title>{tip}</title></rect>')
        if s["removable_writes"]:
            parts.append(f'<polygon points="{x:.1f},{_H + 12} {x + step / 2:.1f},{_H + 2} {x + step:.1f},{_H + 12}" '
                         f'fill="#e80"><title>{tip}</title></polygon>')
        if s["findings"]:
            parts.append(f'<circle cx="{x + step / 2:.1f}" cy="12" r="4" fill="#c00"><title>{tip}</title></circle>')
    if series:
        parts.append(f'<text x="{_PAD}" y="{_H + 30}" font-size="11">{escape(str(series[0]["day"]))}</text>')
        parts.append(f'<text x="{_W - _PAD}" y="{_H + 30}" font-size="11" text-anchor="end">'
                     f'{escape(str(series[-1]["day"]))}</text>')
    parts.append(f'<text x="{_PAD}" y="{_H + 30}" dx="120" font-size="11" fill="#555">'
                 "取得件数(対数)/ rows read (log) · ▲ 外部媒体 / removable media · ● 所見 / finding</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _owners(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {"cases": 0, "actors": [], "first": date.max})
    for c in cases:
        for o in c["owners"]:
            r = rows[o]
            r["cases"] += 1
            r["actors"].append(str(c["who"]))
            r["first"] = min(r["first"], c["detected_at"])
    return [{"owner": o, **r} for o, r in sorted(rows.items(), key=lambda kv: (-kv[1]["cases"], kv[0]))]


def write_report(ws: Workspace, out: Path | None = None, include_closed: bool = False) -> Path:
    """Write the HTML audit report (default ``reports/audit-<until>.html``); returns its path."""
    cases = list_cases(ws, include_closed=include_closed, full=True)
    state = audit_state(ws)
    until = max(state.values()) if state else None
    drawn = []
    for c in cases[:MAX_CASES]:
        drawn.append({**c, "svg": timeline_svg(c["series"], f"{c['case_id']} {c['who']}")})
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    html = env.from_string(_PAGE).render(
        until=until or "-",
        generated=datetime.now(ws.timezone).isoformat(timespec="seconds"),
        cases=cases,
        drawn=drawn,
        owners=_owners(cases),
        n_findings=sum(c["findings"] for c in cases),
    )
    path = Path(out) if out is not None else ws.reports_dir / f"audit-{until or 'empty'}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
