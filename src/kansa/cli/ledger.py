"""CLI for the ledger: seal events, show the signed head, verify, prove inclusion, export heads.

Thin on purpose: parsing and printing only; everything else is kansa.ledger's public API.
`verify` exits 1 when the ledger shows tampering, so it can guard a cron job or a CI step.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kansa import ledger as api
from kansa.cli.common import JsonOpt, WorkspaceOpt, console, emit, workspace
from kansa.model.errors import KansaError


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms else "-"


def _show_verify(r: dict[str, Any], lang: str = "ja") -> None:
    if r["ok"]:
        console.print(
            f"[green]ledger intact[/green]: {r['tree_size']} leaves, {r['heads_checked']} signed heads checked"
            + (f"; {r['pending']} events not yet sealed" if r["pending"] else "")
        )
        if "head_file" in r:
            console.print(f"consistent with the head(s) in {r['head_file']['path']}", highlight=False)
        _show_notes(r)
        return
    console.print(f"[red]ledger TAMPERED[/red]: first bad leaf {r['first_bad']} of {r['tree_size']}")
    key = "reason_ja" if lang == "ja" else "reason_en"
    table = Table("leaf", "kind", "ref_id", "problem")
    table.add_column("why", overflow="fold")
    for b in r["bad_leaves"]:
        table.add_row(str(b["leaf_index"]), str(b["kind"]), str(b["ref_id"]), b["problem"], b[key])
    for h in r["bad_heads"]:
        table.add_row(f"head {h['tree_size']}", h["origin"], "", h["problem"], h[key])
    console.print(table)
    _show_notes(r)


def _show_notes(r: dict[str, Any]) -> None:
    """What verify counted that is not tampering by itself but an auditor should see."""
    if r.get("subjects_sealed_from"):
        console.print(f"subjects are sealed with access events from leaf {r['subjects_sealed_from']} on"
                      " (older leaves cover the event rows only)", highlight=False)
    if r.get("sealed_late"):
        console.print(f"[yellow]{r['sealed_late']} event(s) were sealed after an event with a higher id[/yellow]"
                      " (inserted among sealed events, then sealed)")
    if r.get("sealed_twice"):
        console.print(f"[yellow]{r['sealed_twice']} leaf/leaves seal a row that an earlier leaf already seals[/yellow]"
                      " (each is checked against the row as it is now)")
    if r.get("orphan_subjects"):
        console.print(f"[yellow]{r['orphan_subjects']} subject row(s) belong to no event[/yellow]")


_HEAD_KEYS = ("tree_size", "root", "timestamp_ms", "signature")


def _as_export(ws: Any, path: Path, tmp: Path) -> Path:
    """A head file as kept by a witness → a heads export that ``verify`` reads.

    Accepted: an ``export-heads`` file, one head as ``ledger head --json`` prints it, or a list of
    them (``ledger head --all --json``). A bare head carries no public key: it is checked against
    the workspace's key, so a head signed by another key (a rebuilt ledger) fails.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KansaError("no such head file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KansaError(f"cannot read head file: {exc}", path=str(path)) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KansaError(f"not JSON: {exc.msg}", path=str(path), line=exc.lineno) from exc
    if isinstance(doc, dict) and "heads" in doc:
        return path
    heads = doc if isinstance(doc, list) else [doc]
    for i, h in enumerate(heads):
        missing = [k for k in _HEAD_KEYS if not isinstance(h, dict) or h.get(k) in (None, "")]
        if missing:
            which = f"head {i + 1}: " if isinstance(doc, list) else ""
            raise KansaError(f"{which}not a signed tree head (missing {', '.join(missing)});"
                             " use the output of `kansa ledger head --json` or `export-heads`", path=str(path))
    api.export_heads(ws, tmp)  # the workspace's public key, through the public API
    export = json.loads(tmp.read_text(encoding="utf-8"))
    export["heads"] = heads
    tmp.write_text(json.dumps(export), encoding="utf-8")
    return tmp


def register(app: typer.Typer) -> None:
    """Add the `kansa ledger ...` commands to the main app."""
    group = typer.Typer(help="Tamper-evident ledger of events (RFC 6962 Merkle tree, signed heads).")
    app.add_typer(group, name="ledger")

    @group.command("seal")
    def seal_cmd(ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
        """Append every not-yet-sealed event to the ledger and sign a new tree head."""
        with workspace(ws_path, "ledger seal") as ws:
            r = api.seal_pending(ws)
        emit(
            r,
            as_json,
            lambda d: console.print(
                f"sealed {d['sealed']} events; tree size {d['tree_size']}, root {d['root']}"
            ),
        )

    @group.command("head")
    def head_cmd(
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
        all_heads: Annotated[
            bool, typer.Option("--all", help="List every signed head, oldest first.")
        ] = False,
    ) -> None:
        """Show the latest signed tree head (or all of them)."""
        with workspace(ws_path, "ledger head") as ws:
            data: Any = api.heads(ws) if all_heads else api.head(ws)

        def render(d: Any) -> None:
            rows = d if isinstance(d, list) else [d]
            table = Table("tree size", "signed at (UTC)", "key id")
            table.add_column("root", overflow="fold")
            for h in rows:
                table.add_row(
                    str(h["tree_size"]), _when(h["timestamp_ms"]), (h["key_id"] or "-")[:16], h["root"]
                )
            console.print(table)

        emit(data, as_json, render)

    @group.command("verify")
    def verify_cmd(
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
        trusted: Annotated[
            Path | None,
            typer.Option("--trusted-heads", help="Heads exported earlier (export-heads) to check against."),
        ] = None,
        head_file: Annotated[
            Path | None,
            typer.Option("--head", help="A head kept elsewhere (`ledger head --json` or export-heads): prove"
                         " that today's ledger extends it."),
        ] = None,
        lang: Annotated[str, typer.Option(help="Language of the explanations: ja or en.")] = "ja",
    ) -> None:
        """Recompute every leaf and root from the rows as they are now; exit 1 if anything changed."""
        if lang not in ("ja", "en"):
            raise KansaError(f"--lang must be ja or en, got {lang!r}")
        if head_file is not None and trusted is not None:
            raise KansaError("give --head or --trusted-heads, not both")
        with workspace(ws_path, "ledger verify") as ws, tempfile.TemporaryDirectory() as tmp:
            given = trusted if head_file is None else _as_export(ws, head_file, Path(tmp) / "heads.json")
            r = api.verify(ws, trusted_heads=given)
            if head_file is not None:
                kept = [h for h in r["bad_heads"] if h.get("origin") == "export"]
                r["head_file"] = {"path": str(head_file), "consistent": not kept and r["ok"]}
        emit(r, as_json, lambda d: _show_verify(d, lang))
        if not r["ok"]:
            raise typer.Exit(1)

    @group.command("prove")
    def prove_cmd(
        leaf_index: Annotated[
            int, typer.Argument(help="Leaf index (an event's event_id when no journal entry precedes it).")
        ],
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
        size: Annotated[
            int | None, typer.Option("--size", help="Tree size of the signed head (default: latest).")
        ] = None,
        event: Annotated[
            str | None,
            typer.Option(
                "--event", help="Read N as the id of a sealed row of this kind (access, endpoint, journal)."
            ),
        ] = None,
    ) -> None:
        """Inclusion proof: the audit path from one leaf to a signed root."""
        with workspace(ws_path, "ledger prove", str(leaf_index)) as ws:
            if event is not None:
                found = api.leaf_index_of(ws, event, leaf_index)
                if found is None:
                    raise KansaError(f"{event} event {leaf_index} is not sealed; run `kansa ledger seal`")
                leaf_index = found
            r = api.prove(ws, leaf_index, size)

        def render(d: dict[str, Any]) -> None:
            console.print(f"leaf {d['leaf_index']} ({d['kind']} {d['ref_id']}) hash {d['leaf_hash']}")
            console.print(
                f"tree size {d['tree_size']} root {d['root']} — proof {'verifies' if d['ok'] else 'FAILS'}"
            )
            for i, p in enumerate(d["path"]):
                console.print(f"  {i}: {p}")

        emit(r, as_json, render)
        if not r["ok"]:
            raise typer.Exit(1)

    @group.command("consistency")
    def consistency_cmd(
        old_size: Annotated[int, typer.Argument(help="Tree size of the older signed head.")],
        new_size: Annotated[
            int | None, typer.Argument(help="Tree size of the newer head (default: latest).")
        ] = None,
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Consistency proof: the newer tree only appended to the older one."""
        with workspace(ws_path, "ledger consistency", f"{old_size} {new_size}") as ws:
            r = api.consistency(ws, old_size, new_size)
        emit(
            r,
            as_json,
            lambda d: console.print(
                f"{d['old_size']} → {d['new_size']}: {len(d['proof'])} hashes, {'consistent' if d['ok'] else 'INCONSISTENT'}"
            ),
        )
        if not r["ok"]:
            raise typer.Exit(1)

    @group.command("export-heads")
    def export_cmd(
        file: Annotated[
            Path, typer.Argument(help="JSON file to write (keep it where the admin cannot write).")
        ],
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Write every signed head and the public key to a file."""
        with workspace(ws_path, "ledger export-heads", str(file)) as ws:
            r = api.export_heads(ws, file)
        emit(
            r,
            as_json,
            lambda d: console.print(f"wrote {d['heads']} heads (tree size {d['tree_size']}) to {d['path']}"),
        )
