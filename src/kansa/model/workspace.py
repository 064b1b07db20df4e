"""A workspace: one folder that holds everything kansa knows about one organisation.

The folder is the unit of trust and of backup: a DuckDB database for the model, a Parquet area
for bulk tables, a keys folder only its owner can read (ledger signing key, linkage HMAC key),
and a reports folder. Nothing has to be started to use it.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

import duckdb

from kansa.model.errors import KansaError, NotAWorkspace
from kansa.model.migrations import Migration, apply
from kansa.model.schema import MODEL_MIGRATIONS

MARKER = "kansa-workspace.json"
DB_FILE = "kansa.duckdb"
FORMAT = 1
DEFAULT_TZ = "Asia/Tokyo"


def default_workspace_path() -> Path:
    return Path(os.environ.get("KANSA_WORKSPACE", "kansa-workspace"))


class Workspace:
    """An open workspace. Use as a context manager, or call ``close()``."""

    def __init__(self, root: Path, meta: dict[str, object]) -> None:
        self.root = root
        self.meta = meta
        self._con: duckdb.DuckDBPyConnection | None = None

    # ---- places -----------------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.root / DB_FILE

    @property
    def parquet_dir(self) -> Path:
        return self.root / "parquet"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def timezone(self) -> ZoneInfo:
        """The organisation's local time: audit days and working hours are counted in it."""
        return ZoneInfo(str(self.meta.get("timezone", DEFAULT_TZ)))

    # ---- database ---------------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            try:
                self._con = duckdb.connect(str(self.db_path))
            except duckdb.IOException as exc:  # another process holds the write lock
                raise KansaError(f"cannot open workspace database: {exc}", path=str(self.db_path)) from exc
            self._con.execute(f"SET TimeZone = '{self.timezone.key}'")
        return self._con

    def ensure_component(self, component: str, migrations: list[Migration]) -> list[int]:
        """Create or upgrade a capability's own tables; returns the versions applied."""
        return apply(self.con, component, migrations)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- secrets ----------------------------------------------------------------------------
    def secret(self, name: str, size: int = 32) -> bytes:
        """A random secret kept in keys/ (created on first use, mode 0600)."""
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"bad secret name {name!r}")
        path = self.keys_dir / f"{name}.key"
        if not path.exists():
            data = secrets.token_bytes(size)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        return path.read_bytes()

    # ---- kansa's own use is audited -----------------------------------------------------------
    def record_use(self, command: str, args: str = "", outcome: str = "ok") -> None:
        try:
            user = getpass.getuser()
        except Exception:
            user = None
        self.con.execute(
            "INSERT INTO tool_audit VALUES (?, ?, ?, ?, ?)",
            [datetime.now(UTC), user, command, args, outcome],
        )


def _write_marker(root: Path, meta: dict[str, object]) -> None:
    (root / MARKER).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def init_workspace(root: str | Path, *, timezone: str = DEFAULT_TZ, exist_ok: bool = False) -> Workspace:
    """Make a new workspace folder (or open it, with ``exist_ok``, if it already is one)."""
    root = Path(root)
    if (root / MARKER).exists():
        if exist_ok:
            return open_workspace(root)
        raise KansaError("already a kansa workspace", path=str(root))
    if root.exists() and any(root.iterdir()):
        raise KansaError("folder exists and is not empty; choose a new folder", path=str(root))
    ZoneInfo(timezone)  # fail early on a bad zone name
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("parquet", "reports"):
        (root / sub).mkdir(exist_ok=True)
    keys = root / "keys"
    keys.mkdir(exist_ok=True)
    keys.chmod(stat.S_IRWXU)
    meta: dict[str, object] = {
        "kansa_workspace": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "timezone": timezone,
    }
    ws = Workspace(root, meta)
    ws.ensure_component("model", MODEL_MIGRATIONS)
    _write_marker(root, meta)  # written last: a half-made folder is not mistaken for a workspace
    return ws


def open_workspace(root: str | Path | None = None) -> Workspace:
    """Open an existing workspace, migrating its schema forward if it is older."""
    root = Path(root) if root is not None else default_workspace_path()
    marker = root / MARKER
    if not marker.exists():
        hint = " (run `kansa init` first)" if not root.exists() or not any(root.iterdir()) else ""
        raise NotAWorkspace(f"not a kansa workspace{hint}", path=str(root))
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotAWorkspace(f"workspace marker is unreadable: {exc}", path=str(marker)) from exc
    if not isinstance(meta, dict) or meta.get("kansa_workspace") is None:
        raise NotAWorkspace("workspace marker is not kansa's", path=str(marker))
    if int(meta["kansa_workspace"]) > FORMAT:
        raise KansaError(
            f"workspace format {meta['kansa_workspace']} is newer than this kansa ({FORMAT})", path=str(root)
        )
    ws = Workspace(root, meta)
    ws.ensure_component("model", MODEL_MIGRATIONS)
    return ws
