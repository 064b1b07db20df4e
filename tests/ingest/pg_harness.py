"""A throwaway PostgreSQL 15 cluster with pgaudit, for tests that read real server logs.

Hand-written log lines only prove that we parse what we *think* PostgreSQL writes; this harness
makes the real server write them. When PostgreSQL or pgaudit is missing the caller skips, unless
CI or KANSA_REQUIRE_PG is set, where a missing server must fail loudly.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("KANSA_PG_BIN", "/usr/lib/postgresql/15/bin"))


def require_pg() -> None:
    """Skip (or fail under CI/KANSA_REQUIRE_PG) when PostgreSQL 15 + pgaudit are not installed."""
    missing = [str(PG_BIN / b) for b in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / b).exists()]
    libdir = PG_BIN.parent / "lib"
    if not (libdir / "pgaudit.so").exists():
        missing.append(str(libdir / "pgaudit.so"))
    if shutil.which("psql") is None and not (PG_BIN / "psql").exists():
        missing.append("psql")
    if missing:
        msg = f"PostgreSQL 15 with pgaudit is required; missing: {', '.join(missing)}"
        if os.environ.get("CI") or os.environ.get("KANSA_REQUIRE_PG"):
            pytest.fail(msg)
        pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """initdb + start + psql + stop in a temporary folder; runs as `postgres` when we are root."""

    def __init__(self, root: Path) -> None:
        self.as_root = os.geteuid() == 0
        if self.as_root:
            # pytest's tmp dirs sit under a 0700 root-owned folder the postgres user cannot enter
            root = Path(tempfile.mkdtemp(prefix="kansa-pg-"))
        self.root = root
        self.data = root / "data"
        self.sock = root / "sock"
        self.port = _free_port()

    def _run(self, args: list[str], stdin: str | None = None) -> str:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self.as_root else args
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        self.sock.mkdir(parents=True)
        if self.as_root:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                   "--no-locale", "-A", "trust"])
        conf = "\n".join([
            "listen_addresses = '127.0.0.1'", f"port = {self.port}",
            f"unix_socket_directories = '{self.sock}'",
            "shared_preload_libraries = 'pgaudit'", "logging_collector = on",
            "log_destination = 'csvlog,jsonlog'", "log_directory = 'log'",
            "log_filename = 'postgresql'", "log_timezone = 'Asia/Tokyo'",
            "pgaudit.log = 'read,write,ddl,role,misc'", "pgaudit.log_parameter = on",
            "pgaudit.log_catalog = off", "pgaudit.log_relation = on",
            "pgaudit.log_statement_once = on", "log_connections = on", "log_disconnections = on",
        ])
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write("\n" + conf + "\n")
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l",
                   str(self.root / "server.out"), "start"])

    def psql(self, sql: str, host: str | None = None) -> str:
        psql = str(PG_BIN / "psql") if (PG_BIN / "psql").exists() else "psql"
        return self._run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host or str(self.sock),
                          "-p", str(self.port), "-U", "postgres", "-d", "postgres"], stdin=sql)

    def stop(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop"])

    def cleanup(self) -> None:
        """Remove the cluster folder when it lives outside pytest's tmp tree."""
        if self.as_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def log(self, suffix: str) -> Path:
        return self.data / "log" / f"postgresql.{suffix}"
