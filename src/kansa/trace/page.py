"""The HTML page of a trace result: what a privacy officer prints and hands to the owner or police.

One self-contained file (inline CSS, no scripts, no external fonts) built from the trace result
dict (contract C4 plus its detail keys) with Jinja2 and autoescaping. It shows whose data the list
is (owners, datasets, the validity window that fits), what stayed unattributed and why, and the
suspects with the figures behind their rank; labels in Japanese, English or both. The result holds
no names or addresses (rows are numbers, people are owner record ids), and neither does the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, select_autoescape

Lang = Literal["ja", "en", "both"]

LABELS: dict[str, tuple[str, str]] = {
    "title": ("流出リストの追跡結果", "Trace of a leaked list"),
    "file": ("ファイル", "File"),
    "encoding": ("文字コード", "Encoding"),
    "fields": ("照合した項目", "Fields compared"),
    "until": ("証拠の期限", "Evidence up to"),
    "records": ("件数", "Records"),
    "attributed": ("特定できた件数", "Attributed"),
    "unattributed": ("特定できなかった件数", "Unattributed"),
    "per_record": ("行ごとの結果 (CSV)", "Per-row result (CSV)"),
    "owners": ("流出元（委託元・データセット）", "Whose data: owners and datasets"),
    "owner": ("委託元", "Owner"),
    "dataset": ("データセット", "Dataset"),
    "window": ("該当する版の期間", "Validity window"),
    "versions": ("版", "Versions"),
    "probability": ("平均一致確率", "Mean match probability"),
    "from": ("から", "from"),
    "to": ("まで", "to"),
    "open": ("現在まで", "open"),
    "datasets": ("版ごとの一致", "Matches per dataset version"),
    "matched": ("一致", "Matched"),
    "best_version": ("最も合う版", "Best version"),
    "coverage": ("網羅率", "Coverage"),
    "share": ("割合", "Share"),
    "reasons": ("特定できなかった理由", "Why rows stayed unattributed"),
    "reason": ("理由", "Reason"),
    "suspects": ("持ち出し得た者（候補）", "Who could have taken it (suspects)"),
    "rank": ("順位", "Rank"),
    "actor": ("担当者・アカウント", "Actor / account"),
    "role": ("役割", "Role"),
    "tier": ("段階", "Tier"),
    "precision": ("適合率", "Precision"),
    "significance": ("有意性 (−log10 p)", "Significance (−log10 p)"),
    "first_touch": ("最初のアクセス", "First touch"),
    "last_touch": ("最後のアクセス", "Last touch"),
    "removable": ("外部媒体への複製", "Copies to removable media"),
    "why": ("根拠", "Why"),
    "none": ("なし", "none"),
    "no_suspects": ("該当者のアクセス記録がありません（アクセスログを取り込んでください）",
                    "No access events name these people (ingest access logs to see who touched them)"),
    "unexplained": ("記録されたアクセスで説明できない件数", "Rows no logged access explains"),
    "limits": ("この結果が示すこと・示さないこと", "What this shows and what it does not"),
    "limits_text": (
        "一致は、リストの行がどの委託元のどの版の記録と同一人物と推定されるかを確率で示すもので、誰が"
        "流出させたかの証明ではありません。候補者は、流出した人々に業務上アクセスしていた者を網羅率・"
        "適合率・偶然に対する有意性で並べたものです。記録されていないアクセス（ログ外の持ち出し）は"
        "現れません。結論の前に、根拠となるイベントを監査ログで確認してください。",
        "A match says, with a probability, which owner's record (and which version) a row of the list "
        "is the same person as; it does not prove who leaked it. Suspects are those whose access to the "
        "leaked people covers them, ranked by coverage, precision and significance against chance; "
        "access that was never logged does not appear. Check the evidence events in the audit trail "
        "before concluding.",
    ),
    "generated": ("作成", "Generated"),
}

_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ 'ja' if lang != 'en' else 'en' }}">
<head>
<meta charset="utf-8">
<title>{{ L('title') }}</title>
<style>
body { font-family: "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; border-bottom: 2px solid #444; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #bbb; padding: .3em .6em; vertical-align: top; }
th { background: #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.summary td { min-width: 8em; }
.tier0 { background: #fde2e2; } .tier1 { background: #fff3d6; }
.why { font-size: .85em; max-width: 40em; }
.limits { border-left: 4px solid #888; padding: .5em 1em; background: #f6f6f6; }
small { color: #666; }
</style>
</head>
<body>
<h1>{{ L('title') }}</h1>
<table class="summary">
<tr><th>{{ L('file') }}</th><td>{{ r.file or '' }}</td></tr>
{% if r.encoding %}<tr><th>{{ L('encoding') }}</th><td>{{ r.encoding }}</td></tr>{% endif %}
{% if r.fields %}<tr><th>{{ L('fields') }}</th><td>{{ r.fields | join(', ') }}</td></tr>{% endif %}
{% if r.until %}<tr><th>{{ L('until') }}</th><td>{{ fmt(r.until) }}</td></tr>{% endif %}
<tr><th>{{ L('records') }}</th><td class="n">{{ r.records }}</td></tr>
<tr><th>{{ L('attributed') }}</th><td class="n">{{ r.attributed }} ({{ pct(r.attributed, r.records) }})</td></tr>
<tr><th>{{ L('unattributed') }}</th><td class="n">{{ r.unattributed }} ({{ pct(r.unattributed, r.records) }})</td></tr>
{% if r.per_record %}<tr><th>{{ L('per_record') }}</th><td>{{ r.per_record }}</td></tr>{% endif %}
</table>

<h2>{{ L('owners') }}</h2>
{% if owners %}
<table>
<tr><th>{{ L('owner') }}</th><th>{{ L('dataset') }}</th><th>{{ L('records') }}</th><th>{{ L('window') }}</th>
<th>{{ L('versions') }}</th><th>{{ L('probability') }}</th></tr>
{% for o in owners %}
<tr><td>{{ o.owner }}</td><td>{{ o.dataset }}</td><td class="n">{{ o.records }}</td>
<td>{{ window(o.window) }}</td><td>{{ (o.window or {}).get('versions', []) | join(', ') }}</td>
<td class="n">{{ o.mean_probability if o.mean_probability is not none else '' }}</td></tr>
{% endfor %}
</table>
{% else %}<p>{{ L('none') }}</p>{% endif %}

{% if datasets %}
<h2>{{ L('datasets') }}</h2>
<table>
<tr><th>{{ L('owner') }}</th><th>{{ L('dataset') }}</th><th>{{ L('versions') }}</th><th>{{ L('matched') }}</th>
<th>{{ L('best_version') }}</th><th>{{ L('share') }}</th><th>{{ L('coverage') }}</th></tr>
{% for d in datasets %}
<tr><td>{{ d.owner }}</td><td>{{ d.name }}</td><td>{{ d.version or '' }}</td><td class="n">{{ d.matched }}</td>
<td class="n">{{ d.best_version }}</td><td class="n">{{ pct1(d.share) }}</td><td class="n">{{ pct1(d.coverage) }}</td></tr>
{% endfor %}
</table>
{% endif %}

{% if reasons %}
<h2>{{ L('reasons') }}</h2>
<table>
<tr><th>{{ L('reason') }}</th><th>{{ L('records') }}</th></tr>
{% for k, v in reasons %}<tr><td>{{ k }}</td><td class="n">{{ v }}</td></tr>{% endfor %}
</table>
{% endif %}

<h2>{{ L('suspects') }}</h2>
{% if suspects %}
<table>
<tr><th>{{ L('rank') }}</th><th>{{ L('actor') }}</th><th>{{ L('role') }}</th><th>{{ L('tier') }}</th>
<th>{{ L('coverage') }}</th><th>{{ L('precision') }}</th><th>{{ L('significance') }}</th>
<th>{{ L('first_touch') }}</th><th>{{ L('last_touch') }}</th><th>{{ L('removable') }}</th><th>{{ L('why') }}</th></tr>
{% for s in suspects %}
<tr class="tier{{ s.tier if s.tier is not none else '' }}"><td class="n">{{ loop.index }}</td><td>{{ s.actor }}</td>
<td>{{ s.role or '' }}</td><td class="n">{{ s.tier if s.tier is not none else '' }}</td>
<td class="n">{{ pct1(s.coverage) }}</td><td class="n">{{ pct1(s.precision) }}</td>
<td class="n">{{ num(s.significance) }}</td><td>{{ fmt(s.first_touch) }}</td><td>{{ fmt(s.last_touch) }}</td>
<td class="n">{{ s.removable_media_events or 0 }}</td><td class="why">{{ s.why or '' }}</td></tr>
{% endfor %}
</table>
{% else %}<p>{{ L('no_suspects') }}</p>{% endif %}
{% if r.unexplained_by_logged_access %}<p>{{ L('unexplained') }}: {{ r.unexplained_by_logged_access }}</p>{% endif %}

<h2>{{ L('limits') }}</h2>
<div class="limits">{{ L('limits_text') }}</div>
<p><small>{{ L('generated') }}: {{ generated }} — kansa</small></p>
</body>
</html>
"""


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    s = str(v)
    return s[:16].replace("T", " ") if len(s) >= 16 and s[4] == "-" else s


def _pct1(v: object) -> str:
    return f"{float(v):.1%}" if isinstance(v, int | float) else ""


def _num(v: object) -> str:
    return f"{float(v):.1f}" if isinstance(v, int | float) else ""


def trace_page(result: Mapping[str, Any], lang: Lang = "both") -> str:
    """The trace result as one self-contained HTML page (labels in Japanese, English or both)."""
    if lang not in ("ja", "en", "both"):
        raise ValueError(f"lang must be ja, en or both, not {lang!r}")

    def label(key: str) -> str:
        ja, en = LABELS[key]
        if lang == "ja":
            return ja
        if lang == "en":
            return en
        return f"{ja} / {en}" if key != "limits_text" else f"{ja}\n\n{en}"

    def window(w: Mapping[str, Any] | None) -> str:
        if not w:
            return ""
        start, end = w.get("from"), w.get("to")
        return f"{_fmt(start) or '…'} – {_fmt(end) or label('open')}"

    def pct(n: object, total: object) -> str:
        if not isinstance(n, int | float) or not isinstance(total, int | float) or not total:
            return "–"
        return f"{n / total:.1%}"

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_TEMPLATE)
    reasons = result.get("unattributed_reasons") or {}
    return template.render(
        r=result, lang=lang, L=label, fmt=_fmt, pct=pct, pct1=_pct1, num=_num, window=window,
        owners=list(result.get("owners") or []), datasets=list(result.get("datasets") or []),
        suspects=list(result.get("suspects") or result.get("actors") or []),
        reasons=sorted(reasons.items(), key=lambda kv: -kv[1]), generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def write_trace_page(result: Mapping[str, Any], path: Path, lang: Lang = "both") -> Path:
    """Write ``trace_page`` to ``path`` (UTF-8); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(trace_page(result, lang), encoding="utf-8")
    return path
