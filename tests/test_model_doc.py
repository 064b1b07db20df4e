"""docs/model.md's diagram shows every table and column of the shared model (issue #2 item 4).

The diagram is how a reader learns the model; a column added to src/kansa/model/schema.py and
not drawn would make it quietly wrong. The tables are read from a fresh workspace, not parsed
from the DDL text.
"""

from __future__ import annotations

import re
from pathlib import Path

from kansa.model.workspace import init_workspace

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"


def _diagram_entities() -> dict[str, set[str]]:
    text = DOC.read_text(encoding="utf-8")
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    entities: dict[str, set[str]] = {}
    for name, body in re.findall(r"^\s*(\w+)\s*\{(.*?)^\s*\}", diagram, flags=re.S | re.M):
        entities[name] = {line.split()[1] for line in body.strip().splitlines() if line.strip()}
    return entities


def _workspace_tables(root: Path) -> dict[str, set[str]]:
    with init_workspace(root) as ws:
        rows = ws.con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_name <> 'schema_versions'"
        ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def test_every_model_table_and_column_is_drawn(tmp_path: Path) -> None:
    drawn = _diagram_entities()
    model = _workspace_tables(tmp_path / "w")
    assert set(model) <= set(drawn), sorted(set(model) - set(drawn))
    for table, columns in model.items():
        assert columns == drawn[table], (table, sorted(columns ^ drawn[table]))


def test_issue_2_entities_are_related_in_the_diagram() -> None:
    diagram = DOC.read_text(encoding="utf-8").split("```mermaid", 1)[1].split("```", 1)[0]
    relations = re.findall(r"^\s*(\w+)\s+\S+--\S+\s+(\w+)\s*:", diagram, flags=re.M)
    linked = {a for a, _ in relations} | {b for _, b in relations}
    for entity in ("organisations", "contracts", "actors", "accounts", "assignments", "assignment_subjects",
                   "datasets", "access_events", "access_subjects", "endpoint_events"):
        assert entity in linked, entity
    assert ("access_events", "access_subjects") in relations   # who touched whom, one row per subject
