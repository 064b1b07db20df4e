"""CLI for trace: parses arguments, calls kansa.trace's public API, prints.

``kansa trace LEAK`` is short for ``kansa trace file LEAK`` (the issue's spelling): the group
routes a first argument that is not a sub-command to ``file``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from kansa.cli.common import JsonOpt, WorkspaceOpt, console, emit, workspace
from kansa.model.errors import KansaError
from kansa.model.workspace import default_workspace_path


class _TraceGroup(TyperGroup):
    """`kansa trace FILE` = `kansa trace file FILE`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["file", *args]
        return super().parse_args(ctx, args)


trace_app = typer.Typer(
    cls=_TraceGroup,
    help="Trace a leaked list back to the datasets it came from (追跡). `kansa trace LEAK` = `kansa trace file LEAK`.",
    no_args_is_help=True,
)


def _render_index(data: dict[str, Any]) -> None:
    details = data.get("details", [data])
    table = Table(title="indexed datasets / 索引したデータセット")
    for col in ("dataset", "records", "fields", "skipped"):
        table.add_column(col, justify="right" if col in ("records", "skipped") else "left")
    for d in details:
        table.add_row(d["dataset_id"], str(d["records"]), ", ".join(d["fields"]), str(d["skipped"]))
    console.print(table)
    if data.get("mode") == "plaintext":
        console.print("plaintext mode (opted in): normalised values stored in clear beside the keyed hashes"
                      " / 平文モード: 正規化した値を平文でも保存しています (--mode keyed で消去)")
    else:
        console.print("no raw personal data stored: keyed hashes and Bloom filters only / 生の個人データは保存していません")


def _pct(v: Any) -> str:
    return f"{float(v):.1%}" if isinstance(v, int | float) else ""


def _day(v: Any) -> str:
    return "" if v is None else str(v)[:10]


def _render_trace(data: dict[str, Any]) -> None:
    total = data.get("records", data.get("rows", 0))
    console.print(
        f"{data.get('file', '')}: {total} rows / 件 ({data.get('encoding', '')}; "
        f"fields {', '.join(data.get('fields', []))}) — attributed / 特定 {data.get('attributed', 0)}, "
        f"unattributed / 未特定 {data.get('unattributed', 0)}",
        highlight=False,
    )
    owners = Table(title="whose data / 流出元（委託元・データセット）")
    for col in ("owner / 委託元", "dataset / データセット", "records / 件数", "window / 期間", "versions / 版"):
        owners.add_column(col, justify="right" if col.startswith("records") else "left")
    for o in data.get("owners", []):
        w = o.get("window") or {}
        owners.add_row(o["owner"], o["dataset"], str(o["records"]),
                       f"{_day(w.get('from')) or '…'} – {_day(w.get('to')) or 'open'}",
                       ", ".join(str(v) for v in w.get("versions", [])))
    console.print(owners)
    reasons = data.get("unattributed_reasons") or {}
    if reasons:
        console.print("unattributed because / 未特定の理由: " + "; ".join(f"{k}: {v}" for k, v in reasons.items()),
                      highlight=False)
    suspects = data.get("suspects", [])
    if suspects:
        st = Table(title="who could have taken it / 持ち出し得た者")
        for col in ("#", "actor", "tier", "coverage", "precision", "signif.", "removable", "first", "last"):
            st.add_column(col, no_wrap=col in ("actor", "first", "last"),
                          justify="right" if col not in ("actor", "first", "last") else "left")
        for n, s in enumerate(suspects, start=1):
            st.add_row(str(n), s["actor"], str(s.get("tier", "")), _pct(s.get("coverage")), _pct(s.get("precision")),
                       f"{float(s.get('significance', 0)):.1f}", str(s.get("removable_media_events", 0)),
                       _day(s.get("first_touch")), _day(s.get("last_touch")))
        console.print(st)
        if suspects[0].get("why"):
            console.print(f"first suspect / 第一候補 {suspects[0]['actor']}: {suspects[0]['why']}", highlight=False)
    else:
        console.print("no access events name these people (ingest access logs to see who touched them) / "
                      "該当者へのアクセス記録がありません")
    if data.get("per_record"):
        console.print(f"per row / 行ごと: {data['per_record']}", highlight=False)
    if data.get("html"):
        console.print(f"page / 報告ページ: {data['html']}", highlight=False)


def _world_or_file(world: Path | None, file: Path | None, owner: str | None, name: str | None) -> None:
    if (world is None) == (file is None):
        raise KansaError("give either --world DIR or FILE with --owner and --name")
    if file is not None and (not owner or not name):
        raise KansaError("indexing a single file needs --owner and --name", path=str(file))


@trace_app.command("index")
def index_cmd(
    file: Annotated[Path | None, typer.Argument(help="An owner's dataset (CSV/TSV/Excel).")] = None,
    world: Annotated[Path | None, typer.Option("--world", help="World folder: index its manifest's datasets.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner id (data controller).")] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name.")] = None,
    version: Annotated[str | None, typer.Option(help="Dataset version (snapshot).")] = None,
    id_column: Annotated[str | None, typer.Option(help="Column holding the owner's record id.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="Index mode, kept by the workspace: keyed (default; erases clear values stored before) or"
                          " plaintext (opt-in: normalised values also stored in clear)."),
    ] = None,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Index owners' datasets as keyed hashes and Bloom filters (no raw personal data kept)."""
    from kansa.trace import index_dataset, index_world_datasets
    from kansa.trace.index import ensure_trace_tables
    from kansa.trace.mode import set_index_mode

    _world_or_file(world, file, owner, name)
    with workspace(ws_path, "trace index", str(world or file)) as ws:
        if mode is not None:
            ensure_trace_tables(ws)
            set_index_mode(ws, mode)
        if world is not None:
            result = index_world_datasets(ws, world)
        else:
            assert file is not None and owner is not None and name is not None
            result = index_dataset(ws, file, owner, name, version, id_column=id_column, encoding=encoding)
        emit(result, as_json, _render_index)


@trace_app.command("file")
def file_cmd(
    leak: Annotated[Path, typer.Argument(help="The leaked list (CSV/TSV/Excel).")],
    until: Annotated[
        str | None, typer.Option(help="Use only events up to this day (YYYY-MM-DD), e.g. when the list was found.")
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="Also write an HTML page into the workspace's reports.")] = False,
    lang: Annotated[str, typer.Option(help="Page labels: ja, en or both.")] = "both",
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Attribute a leaked list to owners/datasets/versions and rank who could have taken it."""
    from kansa.trace import trace_file, trace_page

    if lang not in ("ja", "en", "both"):
        raise KansaError(f"--lang must be ja, en or both, got {lang!r}")
    day = None
    if until is not None:
        try:
            day = date.fromisoformat(until)
        except ValueError as exc:
            raise KansaError(f"--until must be YYYY-MM-DD, got {until!r}") from exc
    with workspace(ws_path, "trace file", str(leak)) as ws:
        result = trace_file(ws, leak, until=day)
        if html:
            page = ws.reports_dir / "trace" / f"{Path(leak).stem}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(trace_page(result, lang=lang), encoding="utf-8")  # type: ignore[arg-type]
            result["html"] = str(page)
        emit(result, as_json, _render_trace)


def _render_read(data: dict[str, Any]) -> None:
    console.print(
        f"{data['file']}: {data['rows']} rows / 件, {data['format']}, {data['encoding']}, "
        f"delimiter {data['delimiter']}, header {'yes' if data['header'] else 'no'}", highlight=False)
    t = Table(title="columns understood / 列の解釈")
    for col in ("#", "header / 見出し", "type / 種類", "confidence", "from", "note"):
        t.add_column(col)
    for c in data["columns"]:
        t.add_row(str(c["index"] + 1), c["header"], str(c["type"] or "—"), f"{c['confidence']:.0%}", c["source"],
                  c["note"])
    console.print(t)
    for key, label in (("sensitive_columns", "sensitive numbers (never kept) / 個人番号等"),
                       ("repaired_lines", "repaired lines / 修復した行"), ("skipped_lines", "skipped lines / 読めない行")):
        if data[key]:
            console.print(f"{label}: {data[key]}", highlight=False)
    if data["damaged_lines"]:
        console.print(f"lines with undecodable bytes / 文字化け行: {data['damaged_lines']}", highlight=False)
    pc = data.get("postcode_check")
    if pc:
        console.print(f"postcode vs address / 郵便番号と住所: {pc['agree']} of {pc['checked']} agree"
                      + (f"; disagree on lines {pc['disagree_lines']}" if pc["disagree_lines"] else ""), highlight=False)


@trace_app.command("read")
def read_cmd(
    file: Annotated[Path, typer.Argument(help="A list (CSV/TSV/Excel).")],
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show how kansa reads a list: encoding, header, column types and why (no values printed)."""
    from kansa.trace import read_list

    emit(read_list(file, encoding=encoding), as_json, _render_read)


def _render_links(data: dict[str, Any]) -> None:
    console.print(
        f"{data['links']} links on {data['on'][0]}"
        + (f" = {data['on'][1]}" if data["on"][1] != data["on"][0] else "")
        + f" ({data['key_kind']}); compared {', '.join(data['compared_fields'])} — "
        f"mislinks / 誤結合 {data['mislinks']}, to check / 要確認 {data['to_check']}, consistent / 整合 "
        f"{data['consistent']}; only in A {data['only_in_a']}, only in B {data['only_in_b']}",
        highlight=False,
    )
    if data["disagreements"]:
        t = Table(title="links whose people disagree / 人物が一致しない結合")
        for col in ("#", "line A", "line B", "score", "verdict", "why / 理由"):
            t.add_column(col, justify="right" if col in ("#", "line A", "line B", "score") else "left")
        for d in data["disagreements"]:
            why = "; ".join(f"{r['ja']} ({r['en']})" for r in d["reasons"] if r["weight"] > 0) or "—"
            t.add_row(str(d["rank"]), str(d["line_a"]), str(d["line_b"]), f"{d['score']:.1f}", d["verdict"], why)
        console.print(t)
    for dup in data["duplicate_keys"]:
        console.print(f"one key, different people in {dup['side'].upper()} / 同一番号に別人: lines {dup['lines']}",
                      highlight=False)


@trace_app.command("check-links")
def check_links_cmd(
    a: Annotated[Path, typer.Argument(help="First dataset (CSV/TSV/Excel).")],
    b: Annotated[Path, typer.Argument(help="Second dataset.")],
    on: Annotated[str, typer.Option("--on", help="Key column joining them (header name).")],
    on_b: Annotated[str | None, typer.Option("--on-b", help="Key column in B when named differently.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="List every link with any difference.")] = False,
    limit: Annotated[int | None, typer.Option(help="Show at most this many links.")] = None,
    ws_path: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List links whose people disagree (name, reading, birth date, sex, address) beyond normal variation."""
    from kansa.trace import check_links

    def run() -> dict[str, Any]:
        return check_links(a, b, on, on_b, show_all=show_all, limit=limit)

    # reading two personal-data files is recorded in the workspace's trail when there is one
    if ws_path is not None or default_workspace_path().exists():
        with workspace(ws_path, "trace check-links", f"{a} {b} --on {on}"):
            result = run()
    else:
        result = run()
    emit(result, as_json, _render_links)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(trace_app, name="trace")
