"""Detection quality on simulated worlds: every scenario at several seeds, scored by `evaluate`.

Prints one Markdown row per world (events, detection per bad actor, false findings per 1,000
actor-days, precision, audit seconds) and the pooled false-finding rate, for docs/audit.md.

    python -m benchmarks.audit_eval [--days 90] [--scale 1.0] [--seeds 3 7 21]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    from kansa.audit import evaluate, run_audit
    from kansa.ingest import ingest_world
    from kansa.model.workspace import init_workspace
    from kansa.simulate import SCENARIOS, simulate

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[3, 7, 21])
    p.add_argument("--scenarios", nargs="+", default=sorted(SCENARIOS))
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kansa-audit-eval-"))
    print("| world | events | bad actors: days to detect (rules) | false findings / 1,000 actor-days | precision "
          "| audit s |")
    print("|---|---|---|---|---|---|")
    false = days = 0
    for scenario in args.scenarios:
        for seed in args.seeds:
            base = tmp / f"{scenario}-{seed}"
            simulate(scenario, seed, base / "world", days=args.days, scale=args.scale)
            ws = init_workspace(base / "ws")
            ingest_world(ws, base / "world")
            row = ws.con.execute("SELECT count(*) FROM access_events").fetchone()
            t = time.perf_counter()
            run_audit(ws)
            secs = time.perf_counter() - t
            r = evaluate(ws, base / "world" / "truth.json")
            ws.close()
            false += r["false_findings"]
            days += r["actor_days"]
            who = "; ".join(
                f"{a['actor']}: {a['days_to_detect'] if a['detected'] else 'missed'} ({', '.join(a['rules'])})"
                for a in r["actors"]
            )
            print(f"| {scenario} seed {seed} | {row[0] if row else 0} | {who} | "
                  f"{r['false_findings_per_1000_actor_days']:.2f} ({r['false_findings']} of {r['actor_days']}) | "
                  f"{r['precision']:.2f} | {secs:.1f} |", flush=True)
    print(f"\npooled: {false} false finding day(s) in {days} actor-days = {1000 * false / max(days, 1):.2f} per 1,000")


if __name__ == "__main__":
    main()
