"""A one-page HTML summary of a demo run, for the person who typed `make demo`.

Findings and attributions are shown with counts and identifiers only (actor ids, owner ids,
event ids): the summary is a file that travels, so it carries no names or addresses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from kansa.report.demo_run import DemoStep

_TEMPLATE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>kansa demo</title>
<style>body{font-family:"Noto Sans CJK JP",sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;vertical-align:top}
.ok{color:#075}.failed{color:#b00}.skipped{color:#888}pre{white-space:pre-wrap;font-size:.85em}</style>
</head><body>
<h1>kansa (監査) demo — {{ world }}</h1>
{% if story %}<h2>what it found / 結果</h2><ul>{% for line in story %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
<table><tr><th>step / 手順</th><th>status</th><th>s</th><th>result</th></tr>
{% for s in steps %}<tr><td>{{ s.name }}</td><td class="{{ s.status }}">{{ s.status }}</td>
<td>{{ s.seconds }}</td><td><pre>{{ s.error or render(s.result) }}</pre></td></tr>
{% endfor %}</table></body></html>
"""


def _render(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=1, default=str)
    return text if len(text) < 4000 else text[:4000] + "\n…"


def write_summary(steps: list[DemoStep], world: Path, out: Path, story: list[str] | None = None) -> Path:
    """Write the summary page to ``out`` (the run's ``story`` lines first) and return its path."""
    env = Environment(autoescape=select_autoescape(default=True))
    html = env.from_string(_TEMPLATE).render(steps=steps, world=str(world), render=_render, story=story or [])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
