"""The rule registry: names → functions, and the one place where configuration is applied.

Contract with the audit runner (run.py): every rule is a function
``rule(con, cutoff, cfg, since=None) -> list[Finding]`` where ``cutoff`` is the first instant after
the last audited day, ``cfg`` the rule's ``RuleConfig`` and ``since`` the first day to judge (None:
every day); what a rule keeps between runs to judge from ``since`` is in ``state``. ``run_rules`` loads the workspace's
configuration, runs the enabled rules, and drops findings outside a rule's scope or covered by an
unexpired exemption (returning those separately, so a run can say how many it suppressed and why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from kansa.audit.config import AuditConfig, Exemption, RuleConfig, load_config
from kansa.audit.finding import Finding
from kansa.model.errors import KansaError

RuleFn = Callable[..., list[Finding]]  # (con, cutoff, cfg, since=None) -> findings


@dataclass
class RuleRun:
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, why: exemption source or scope)
    config_sources: tuple[str, ...] = ()


def workspace_root(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The folder of the connection's database file (the workspace), or None in memory."""
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return Path(row[0]).parent if row and row[0] else None


def _finding_keys(f: Finding, accounts_of: dict[str, set[str]]) -> tuple[set[str], set[str]]:
    accounts = set(accounts_of.get(f.actor_id or "", set()))
    owners: set[str] = set()
    for key in ("account", "accounts"):
        v = f.detail.get(key)
        accounts.update([str(v)] if isinstance(v, str) else [str(x) for x in v or []])
    for key in ("owner", "owners"):
        v = f.detail.get(key)
        owners.update([str(v)] if isinstance(v, str) else [str(x) for x in v or []])
    return accounts, owners


def filter_findings(
    con: duckdb.DuckDBPyConnection, found: list[Finding], config: AuditConfig,
    extra_exemptions: tuple[Exemption, ...] = (),
) -> RuleRun:
    """Keep findings inside their rule's scope and not covered by an exemption valid on their day."""
    roles = dict(con.execute("SELECT actor_id, role FROM actors").fetchall())
    accounts_of: dict[str, set[str]] = {}
    for actor, account in con.execute("SELECT actor_id, account FROM accounts WHERE actor_id IS NOT NULL").fetchall():
        accounts_of.setdefault(str(actor), set()).add(str(account))
    exemptions = (*config.exemptions, *extra_exemptions)
    run = RuleRun(config_sources=config.sources)
    for f in found:
        accounts, owners = _finding_keys(f, accounts_of)
        role = roles.get(f.actor_id) if f.actor_id else None
        if not config.rule(f.rule).scope.admits(role, owners):
            run.suppressed.append((f, f"scope of {f.rule}"))
            continue
        hit = next((x for x in exemptions if x.applies(f.rule, f.day, f.actor_id, accounts, owners)), None)
        if hit is not None:
            f.detail.setdefault("exempted_by", hit.source)
            run.suppressed.append((f, f"exemption {hit.source} ({hit.approved_by}: {hit.reason}; until {hit.expires})"))
            continue
        run.findings.append(f)
    return run


def run_rules(
    con: duckdb.DuckDBPyConnection,
    cutoff: datetime,
    rules: dict[str, RuleFn],
    names: list[str] | None = None,
    root: Path | None = None,
    extra_exemptions: tuple[Exemption, ...] = (),
) -> RuleRun:
    """Run the named (default: all enabled) rules with the workspace's configuration."""
    config = load_config(root if root is not None else workspace_root(con), set(rules))
    chosen = names or [n for n in rules if config.rule(n).enabled]
    unknown = [n for n in chosen if n not in rules]
    if unknown:
        raise KansaError(f"unknown audit rule(s): {', '.join(unknown)}; known: {', '.join(rules)}")
    found: list[Finding] = []
    for name in chosen:
        cfg = config.rule(name)
        if names is None and not cfg.enabled:
            continue
        found.extend(rules[name](con, cutoff, cfg))
    return filter_findings(con, found, config, extra_exemptions)


def compat(name: str, rules: dict[str, RuleFn]) -> Callable[..., list[Finding]]:
    """``fn(con, cutoff)`` as run.py calls rules today: config and exemptions applied inside."""

    def call(con: duckdb.DuckDBPyConnection, cutoff: datetime, cfg: Any = None, since: date | None = None
             ) -> list[Finding]:
        root = workspace_root(con)
        config = load_config(root, set(rules))
        rule_cfg = cfg if isinstance(cfg, RuleConfig) else config.rule(name)
        if not rule_cfg.enabled:
            return []
        return filter_findings(con, rules[name](con, cutoff, rule_cfg, since=since), config).findings

    call.__name__ = name
    call.__doc__ = rules[name].__doc__
    return call
