"""The audit configuration: packaged defaults, workspace overrides, scopes and expiring exemptions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from audit_world import Builder, at, normal_days, registry

from kansa.audit import list_findings, run_audit
from kansa.audit.config import default_text, load_config
from kansa.audit.rules import RULES, run_rules
from kansa.model.errors import KansaError
from kansa.model.workspace import Workspace, init_workspace


def _world(ws: Workspace) -> Builder:
    registry(ws)
    b = Builder(ws)
    normal_days(b, 0, 20)
    b.access(at(12, 11), "op2", "view", "city-b", ["C001"])  # no task for city-b
    b.access(at(15, 14), "op1", "export", "pref-a", [], rows=5000, resource="app/export")
    return b


def _write(ws: Workspace, text: str) -> Path:
    path = ws.root / "audit.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _rules_fired(ws: Workspace) -> set[tuple[str, str]]:
    return {(str(f["rule"]), str(f["actor_id"])) for f in list_findings(ws)}


def test_packaged_defaults_configure_exactly_the_registered_rules() -> None:
    data = yaml.safe_load(default_text())
    assert set(data["rules"]) == set(RULES)
    cfg = load_config(None, set(RULES))
    assert cfg.exemptions == () and cfg.rule("bulk_pull").get("z", 0.0) == 3.5


def test_workspace_file_overrides_one_threshold_and_keeps_the_rest(ws: Workspace) -> None:
    _write(ws, "rules:\n  curiosity:\n    window_days: 7\n")
    cfg = load_config(ws.root, set(RULES))
    assert cfg.rule("curiosity").get("window_days", 30) == 7
    assert cfg.rule("curiosity").get("max_subjects_per_lookup", 0) == 10  # from the packaged file
    assert cfg.sources[-1] == str(ws.root / "audit.yaml")


def test_raised_threshold_and_disabled_rule_change_the_findings(ws: Workspace, tmp_path: Path) -> None:
    _world(ws)
    run_audit(ws)
    assert {("bulk_pull", "op1"), ("no_task", "op2")} <= _rules_fired(ws)
    with init_workspace(tmp_path / "other") as other:  # the same world, configured otherwise
        _write(other, "rules:\n  bulk_pull:\n    z: 1000\n  no_task:\n    enabled: false\n")
        _world(other)
        run_audit(other)
        fired = _rules_fired(other)
    assert ("bulk_pull", "op1") not in fired and ("no_task", "op2") not in fired


def test_exemption_applies_until_it_expires(ws: Workspace) -> None:
    b = _world(ws)
    b.access(at(18, 11), "op2", "view", "city-b", ["C002"])  # again, after the exemption ends
    day12, day18 = at(12, 0).date(), at(18, 0).date()
    _write(ws, f"""
exemptions:
  - rule: no_task
    actor: op2
    owner: city-b
    approved_by: privacy officer Sato
    reason: phone enquiries for city-b during the merger
    expires: {at(14, 0).date().isoformat()}
""")
    run_audit(ws)
    days = {f["day"] for f in list_findings(ws, rule="no_task", actor="op2")}
    assert day12 not in days and day18 in days
    run = run_rules(ws.con, at(21, 0), RULES, ["no_task"])
    assert [(f.actor_id, f.day) for f, _why in run.suppressed] == [("op2", day12)]
    assert "Sato" in run.suppressed[0][1]


def test_exemption_for_another_owner_does_not_apply(ws: Workspace) -> None:
    _world(ws)
    _write(ws, """
exemptions:
  - {rule: no_task, actor: op2, owner: city-z, approved_by: Sato, reason: test, expires: 2099-01-01}
""")
    run_audit(ws)
    assert ("no_task", "op2") in _rules_fired(ws)


def test_scope_excludes_a_role(ws: Workspace) -> None:
    _world(ws)
    _write(ws, "rules:\n  no_task:\n    scope: {exclude_roles: [operator]}\n")
    run_audit(ws)
    assert ("no_task", "op2") not in _rules_fired(ws)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("exemptions:\n  - rule: no_task\n    actor: op2\n    reason: x\n    expires: 2030-01-01\n",
         "approved_by", 2),
        ("exemptions:\n  - {rule: no_task, approved_by: a, reason: b, expires: 2030-01-01}\n",
         "actor, account or owner", 2),
        ("exemptions:\n  - {rule: no_task, actor: x, approved_by: a, reason: b, expires: soon}\n",
         "YYYY-MM-DD", 2),
        ("rules:\n  nonsense_rule:\n    z: 1\n", "unknown rule", 3),
        ("rules:\n  bulk_pull: [1, 2\n", "not valid YAML", None),
        ("rulez: {}\n", "unknown section", 1),
    ],
)
def test_bad_configuration_names_file_and_line(ws: Workspace, text: str, message: str, line: int | None) -> None:
    path = _write(ws, text)
    with pytest.raises(KansaError) as err:
        load_config(ws.root, set(RULES))
    assert message in str(err.value)
    assert str(err.value).startswith(f"{path}:{line}:" if line else f"{path}")


def test_expiry_is_inclusive_of_its_day() -> None:
    from kansa.audit.config import Exemption

    ex = Exemption(rule="*", approved_by="a", reason="b", expires=date(2024, 5, 1), actor="op1")
    assert ex.applies("bulk_pull", date(2024, 5, 1), "op1", set(), set())
    assert not ex.applies("bulk_pull", date(2024, 5, 2), "op1", set(), set())
    assert not ex.applies("bulk_pull", date(2024, 5, 1), "op2", set(), set())
