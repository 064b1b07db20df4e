"""Ledger seal and verify on N synthetic access events, against a peer: sha256 over each row's repr.

The peer is the least a "hash every row" check can do (no canonical form, no tree, no signature),
so the ratio says what canonicalisation, the Merkle tree and the signed heads cost.

    python -m benchmarks.ledger_synthetic [--events 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kansa.ledger import seal_pending, verify
from kansa.model.workspace import Workspace, init_workspace

FILL = """
INSERT INTO access_events (event_id, ts, actor_id, account, action, resource, columns, owner_id,
                           source_system, batch_id, source_file, source_line, row_count)
SELECT i, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 1 SECOND, 'a' || (i % 50), 'acc' || (i % 50),
       'read', 'residents', ['name', 'addr'], 'org' || (i % 7), 'app', 1, 'app.jsonl', i, i % 13
FROM range(?) t(i)
"""


def _fresh(root: Path, n: int) -> Workspace:
    ws = init_workspace(root)
    ws.con.execute(FILL, [n])
    return ws


def _peer(ws: Workspace) -> str:
    h = hashlib.sha256()
    for row in ws.con.execute("SELECT * FROM access_events ORDER BY event_id").fetchall():
        h.update(hashlib.sha256(repr(row).encode()).digest())
    return h.hexdigest()


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    seal_t, verify_t, peer_t = [], [], []
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.repeat):
            ws = _fresh(Path(d) / f"ws{i}", args.events)
            try:
                seal_t.append(_time(lambda: seal_pending(ws)))  # noqa: B023
                verify_t.append(_time(lambda: verify(ws)))  # noqa: B023
                peer_t.append(_time(lambda: _peer(ws)))  # noqa: B023
            finally:
                ws.close()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n"
        f"command: python -m benchmarks.ledger_synthetic --events {args.events} --repeat {args.repeat}\n"
        f"seal_pending median {statistics.median(seal_t):.2f} s, verify median {statistics.median(verify_t):.2f} s, "
        f"peer (sha256 of each row's repr) median {statistics.median(peer_t):.2f} s"
    )


if __name__ == "__main__":
    main()
