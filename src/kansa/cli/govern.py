"""CLI for govern: chains, access, map. Parses, calls kansa.govern, prints."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from kansa.cli.common import JsonOpt, WorkspaceOpt, console, emit, parse_day, workspace

govern_app = typer.Typer(help="Governance: entrustment chains, who may read whose data, where it lies.",
                         no_args_is_help=True)

OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Only this owner (org id).")]
OnOpt = Annotated[str | None, typer.Option("--on", help="Judge this day (YYYY-MM-DD; default the last day of the logs).")]
_SEV = {"high": "red", "medium": "yellow", "low": "cyan"}
NO_OWNERS = "no owner's data is known yet: ingest the registry and the logs first (kansa ingest)"
MATRIX_ROWS = 40   # more person × owner cells than fit a screen: the summary and the gaps only


def _problems(node: dict[str, Any]) -> str:
    return "".join(f"\n  [{_SEV[p['severity']]}]{p['code']}[/]: {escape(p['reason'])}" for p in node["problems"])


def _link_label(n: dict[str, Any]) -> str:
    state = "" if n["in_force"] else " [dim](not in force)[/dim]"
    span = f"{n['path_from'] or '…'}–{n['path_to'] or ''}"
    a = n["access_in_force"]
    used = f"; {a['events']:,} event(s) on {a['days']} day(s)" if a["events"] else "; no access seen"
    terms = ", ".join(n["security_terms"]) or "no security terms"
    return (f"[bold]{n['entrustee']}[/bold] {escape(n['entrustee_name'] or '')} ({n['country'] or '?'}) — "
            f"{n['contract_id'] or 'no contract'}{state}, {span}\n  "
            f"{', '.join(n['categories']) or '-'} / {', '.join(n['purposes']) or '-'} / {terms}{used}"
            f"{_problems(n)}")


def _render_chains(r: dict[str, Any]) -> None:
    if not r["owners"]:
        console.print(NO_OWNERS)
        return
    for o in r["owners"]:
        tree = Tree(f"[bold]{o['owner_id']}[/bold] {escape(o['name'] or '')} — chains on {r['on']}")

        def add(parent: Tree, nodes: list[dict[str, Any]]) -> None:
            for n in nodes:
                add(parent.add(_link_label(n)), n["children"])

        add(tree, o["links"])
        for x in o["outside"]:
            tree.add(f"[bold]{x['org'] or '(no employer)'}[/bold] {escape(x['name'] or '')} ({x['country'] or '?'}) — "
                     f"outside every contract, {x['events']:,} event(s), {x['first']}–{x['last']}{_problems(x)}")
        if not o["has_contracts"]:
            tree.add("[dim]no contract of this owner in the registry[/dim]")
        if o["unresolved_events"]:
            tree.add(f"[dim]{o['unresolved_events']:,} event(s) by people the registry does not name[/dim]")
        console.print(tree)
    counts = ", ".join(f"{k} {v}" for k, v in r["problems"].items()) or "none"
    console.print(f"problems: {counts}", highlight=False)


def _render_access(r: dict[str, Any]) -> None:
    if not r["owners"]:
        console.print(NO_OWNERS)
        return
    table = Table("owner", "may read", "did read", "used", "unused", "read w/o entitlement", "events w/o entitlement",
                  title=f"entitlement against use, {r['since']} – {r['on']}")
    for s in r["owners"]:
        reasons = ", ".join(f"{k} {v:,}" for k, v in s["without_entitlement_events"].items()) or "0"
        table.add_row(s["owner"], str(s["may_read"]), str(s["did_read"]), str(s["used"]), str(s["unused"]),
                      str(s["without_entitlement_actors"]), reasons)
    console.print(table)
    if len(r["cells"]) <= MATRIX_ROWS:
        m = Table("owner", "actor", "org", "may read", "events", "days", "status", title="person × owner")
        for c in r["cells"]:
            m.add_row(c["owner"], c["actor"] or "?", c["org"] or "?", "yes" if c["may_read"] else "no",
                      f"{c['events']:,}", str(c["days"]), c["status"])
        console.print(m)
    else:
        console.print(f"{len(r['cells']):,} person × owner cells (--actor or --owner to list them, --json for all)")
    gaps = [c for c in r["cells"] if c["status"] in ("without_entitlement", "partly_without_entitlement")]
    if gaps:
        t = Table("owner", "actor", "org", "role", "events", "days", "first", "last", "why",
                  title="read without entitlement")
        for c in gaps:
            why = ", ".join(f"{k} {v:,}" for k, v in c["without_entitlement"].items())
            t.add_row(c["owner"], c["actor"] or "?", c["org"] or "?", c["role"] or "?", f"{c['events']:,}",
                      str(c["days"]), str(c["first"]), str(c["last"]), why)
        console.print(t)
    wide = [b for b in r["broadest"] if b["may_read_owners"] > 1]
    if wide:
        t = Table("actor", "org", "role", "may read (owners)", "did read (owners)", title="broadest entitlements")
        for b in wide:
            t.add_row(b["actor"], b["org"] or "?", b["role"] or "?", str(b["may_read_owners"]), str(b["read_owners"]))
        console.print(t)
    if r["revoke"]:
        t = Table("owner", "actor", "org", "accounts", title="entitled but never used (access to revoke)")
        for v in r["revoke"]:
            t.add_row(v["owner"], v["actor"], v["org"] or "?", ", ".join(v["accounts"]) or "-")
        console.print(t)


def _render_map(r: dict[str, Any]) -> None:
    if not r["owners"]:
        console.print(NO_OWNERS)
        return
    for o in r["owners"]:
        tree = Tree(f"[bold]{o['owner_id']}[/bold] {escape(o['name'] or '')}")
        ds = tree.add("registered datasets")
        for d in o["datasets"]:
            ds.add(escape(f"{d['dataset_id']} [{', '.join(d['categories'])}] {d['valid_from'] or '…'}–{d['valid_to'] or ''}"
                   f", {d['records'] if d['records'] is not None else '?'} records"))
        if o["declared_tables"]:
            dt = tree.add("declared tables (db_owners)")
            for t in o["declared_tables"]:
                dt.add(".".join(x or "*" for x in (t["database"], t["schema"], t["table"])))
        seen = tree.add("seen in (logs)")
        for s in o["seen_in"]:
            seen.add(f"{escape(s['resource'] or '?')} ({s['source_system']}): {s['events']:,} event(s), {s['actors']} actor(s), "
                     f"{s['subjects']:,} subject(s), {str(s['first_seen'])[:10]}–{str(s['last_seen'])[:10]}")
        ex = tree.add("left by export or print")
        for e in o["exports"]:
            rows = f", {e['rows']:,} rows" if e["rows"] is not None else ""
            ex.add(f"{e['action']} {escape(e['resource'] or '?')} ({e['source_system']}): {e['events']:,} event(s){rows}, "
                   f"{e['actors']} actor(s), {str(e['first_seen'])[:10]}–{str(e['last_seen'])[:10]}")
        for c in o["file_copies"]:
            ex.add(f"file {escape(c['path'] or '?')}: {c['copies']} cop(ies){' to removable media' if c['to_removable'] else ''}, "
                   f"{str(c['first_seen'])[:10]}–{str(c['last_seen'])[:10]} ({c['linked_by']})")
        console.print(tree)
    if r["unlinked_file_copies"]:
        t = Table("path", "copies", "removable", "first", "last", title="file copies tied to no owner")
        for c in r["unlinked_file_copies"]:
            t.add_row(c["path"] or "?", str(c["copies"]), str(c["to_removable"]), str(c["first_seen"])[:19],
                      str(c["last_seen"])[:19])
        console.print(t)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @govern_app.command("chains")
    def chains_cmd(owner: OwnerOpt = None, on: OnOpt = None, ws_path: WorkspaceOpt = None,
                   as_json: JsonOpt = False) -> None:
        """Entrustment chains in force on a day, each link with its contract, access and problems."""
        from kansa.govern import chains

        day = parse_day(on, "--on")
        with workspace(ws_path, "govern chains", f"owner={owner} on={on}") as ws:
            emit(chains(ws, owner=owner, on=day), as_json, _render_chains)

    @govern_app.command("access")
    def access_cmd(
        owner: OwnerOpt = None,
        actor: Annotated[str | None, typer.Option("--actor", help="Only this person (actor id).")] = None,
        on: OnOpt = None,
        since: Annotated[str | None, typer.Option("--since", help="Window start (default 90 days before --on).")] = None,
        ws_path: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Who may read whose data against who did: read without entitlement, entitled but unused."""
        from kansa.govern import access

        day, start = parse_day(on, "--on"), parse_day(since, "--since")
        with workspace(ws_path, "govern access", f"owner={owner} actor={actor} on={on} since={since}") as ws:
            emit(access(ws, owner=owner, actor=actor, on=day, since=start), as_json, _render_access)

    @govern_app.command("map")
    def map_cmd(owner: OwnerOpt = None, ws_path: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
        """Where each owner's personal data lies: datasets, tables seen, exports and file copies."""
        from kansa.govern import data_map

        with workspace(ws_path, "govern map", f"owner={owner}") as ws:
            emit(data_map(ws, owner=owner), as_json, _render_map)

    app.add_typer(govern_app, name="govern")
