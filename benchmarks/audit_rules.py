"""Benchmark: the audit's rules alone on a copy of a workspace, with a fingerprint of what they stored.

Why: a change to a rule kept for speed must store the same findings and the same kept tables; a
full ``audit_synthetic`` run also times behaviour and mixes every rule's spill. This copies a
workspace (made by ``benchmarks.audit_synthetic``), clears the audit's state as a full run does,
runs the chosen detectors in one ``run_audit`` and prints, per detector, wall and CPU seconds
(CPU of every thread of the process) and, per stored table, its row count and an order-free hash
of its rows: two runs whose fingerprints agree stored the same rows.

    python -m benchmarks.audit_rules --src /tmp/ar/small/ws --work /tmp/ar/work \
        [--rules curiosity slow_leak] [--json out.json] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.audit_synthetic import reset_audit
from kansa.model.workspace import Workspace, open_workspace

FINDING_HASH = ("SELECT count(*), coalesce(sum(hash(finding_id, rule, actor_id, day, score, severity, reason_ja, "
                "reason_en, detail, key)::HUGEINT), 0) FROM findings WHERE rule = ?")
EVIDENCE_HASH = ("SELECT count(*), coalesce(sum(hash(v.finding_id, v.event_id, v.kind)::HUGEINT), 0) "
                 "FROM finding_evidence v JOIN findings f USING (finding_id) WHERE f.rule = ?")


def fingerprint(ws: Workspace, rules: list[str]) -> dict[str, Any]:
    """Row count and order-free hash of each rule's findings and evidence and of every kept table."""
    out: dict[str, Any] = {}
    for rule in rules:
        out[f"findings:{rule}"] = [str(x) for x in ws.con.execute(FINDING_HASH, [rule]).fetchone() or ()]
        out[f"evidence:{rule}"] = [str(x) for x in ws.con.execute(EVIDENCE_HASH, [rule]).fetchone() or ()]
    tables = [str(r[0]) for r in ws.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND table_name LIKE 'audit\\_%\\_v_' ESCAPE '\\' "
        "ORDER BY table_name").fetchall()]
    for table in tables:
        row = ws.con.execute(f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {table} t").fetchone()
        out[f"table:{table}"] = [str(x) for x in row or ()]
    return out


def main() -> None:
    from kansa.audit import run_audit
    from kansa.audit.run import detectors

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", type=Path, required=True, help="workspace to copy (left unchanged)")
    p.add_argument("--work", type=Path, required=True, help="where the copy goes (replaced)")
    p.add_argument("--rules", nargs="*", default=None, help="detectors to run (default: every rule, no behaviour)")
    p.add_argument("--json", type=Path, default=None, help="write timings and fingerprint here")
    p.add_argument("--keep", action="store_true", help="keep the copy afterwards")
    p.add_argument("--memory-limit", default=None)
    args = p.parse_args()
    rules = args.rules or [n for n in detectors() if n != "behaviour"]
    if args.work.exists():
        shutil.rmtree(args.work)
    shutil.copytree(args.src, args.work, ignore=shutil.ignore_patterns("spill"))
    ws = open_workspace(args.work)
    reset_audit(ws)
    n_events = int((ws.con.execute("SELECT count(*) FROM access_events").fetchone() or [0])[0])
    load0 = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    got = run_audit(ws, rules=rules, memory_limit=args.memory_limit)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fp = fingerprint(ws, rules)
    ws.close()
    result = {"events": n_events, "rules": rules, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
              "load_start": load0, "load_end": os.getloadavg()[0], "peak_rss_mib": round(rss),
              "rule_cpu_s": got.get("cpu_seconds"), "rule_wall_s": got.get("seconds"),
              "findings": got.get("by_rule"), "fingerprint": fp}
    print(json.dumps({k: v for k, v in result.items() if k != "fingerprint"}))
    for k, v in fp.items():
        print(f"  {k}: {v[0]} rows, hash {v[1]}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if not args.keep:
        shutil.rmtree(args.work)


if __name__ == "__main__":
    main()
