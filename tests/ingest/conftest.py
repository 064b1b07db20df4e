"""Tiny inputs per docs/formats.md, written into tmp_path by the tests themselves."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REGISTRY = {
    "organisations.csv": "org_id,name,name_en,kind,sector,country\npref-osaka,大阪府,Osaka,owner,public_body,JP\n",
    "actors.csv": (
        "actor_id,display_name,role,org_id,placed_at,team,privileged,valid_from,valid_to\n"
        "A1,山田,operator,cc,,t1,false,2024-01-01,\n"
        "A2,佐藤,maintainer,cc,,ops,true,2024-01-01,\n"
        "A3,鈴木,operator,cc,,t1,false,2024-01-01,\n"
    ),
    "accounts.csv": (
        "system,account,actor_id,shared\n"
        "app,op1,A1,false\n"
        "app,admin,,true\n"
        "endpoint,U1,A1,false\n"
        "endpoint,U3,A3,false\n"
        "db,op1,A3,false\n"
        "db,batch,,true\n"
    ),
    "terminals.csv": (
        "terminal_id,address,actor_id,location\n"
        "PC-A2,10.0.0.2,A2,osaka\n"
        "PC-SHARED,10.0.0.9,,osaka\n"
    ),
}


def access_line(**over: Any) -> str:
    rec: dict[str, Any] = {
        "time": "2024-03-04T10:15:02+09:00", "actor": "op1", "action": "view", "resource": "cartax/taxpayer",
        "owner": "pref-osaka", "subjects": ["T1"], "rows": 1, "source_ip": "10.0.0.5", "system": "app",
    }
    rec.update(over)
    return json.dumps(rec, ensure_ascii=False)


@pytest.fixture(name="line")
def line_fixture() -> Callable[..., str]:
    return access_line


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    d = tmp_path / "registry"
    d.mkdir()
    for name, text in REGISTRY.items():
        (d / name).write_text(text, encoding="utf-8")
    return d
