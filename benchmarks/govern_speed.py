"""Govern speed: chains, access and map on an ingested workspace, beside the one scan they cannot avoid.

Every govern view reads the event log at least once (the actor-owner-day aggregate of data
touches); the peer measured in the same run is that aggregate alone, as a plain DuckDB query on the
same connection. The ratio says what judging chains, entitlements and the data map costs on top of
reading the log. Each step runs ``--repeat`` times in this process; the median wall and CPU seconds
(``time.process_time``: all threads of the process) are reported, with the load average, because
the machine is shared.

    python -m benchmarks.govern_speed --workspace WS [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from kansa.govern import access, chains, data_map
from kansa.govern.basis import TOUCHES_SQL, end_of, judged_day, start_of
from kansa.model.workspace import Workspace, open_workspace


def _measure(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {"wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3)}


def run(ws: Workspace, repeat: int) -> dict[str, Any]:
    day = judged_day(ws, None)
    events = ws.con.execute("SELECT count(*) FROM access_events").fetchone()
    owners = ws.con.execute("SELECT count(DISTINCT owner_id) FROM access_events").fetchone()
    def peer() -> None:
        ws.con.execute(f"SELECT count(*) FROM ({TOUCHES_SQL})", [start_of(ws, date(1900, 1, 1)), end_of(ws, day)]
                       ).fetchone()

    out: dict[str, Any] = {
        "events": events[0] if events else 0, "owners": owners[0] if owners else 0, "on": day.isoformat(),
        "repeat": repeat, "machine": f"{platform.machine()} {os.cpu_count()} cpu, python {platform.python_version()}",
        "load_before": [round(x, 1) for x in os.getloadavg()],
        "peer_touch_aggregate": _measure(peer, repeat),
        "chains": _measure(lambda: chains(ws), repeat),
        "access": _measure(lambda: access(ws), repeat),
        "map": _measure(lambda: data_map(ws), repeat),
    }
    out["load_after"] = [round(x, 1) for x in os.getloadavg()]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with open_workspace(args.workspace) as ws:
        print(json.dumps(run(ws, args.repeat), indent=2))


if __name__ == "__main__":
    main()
