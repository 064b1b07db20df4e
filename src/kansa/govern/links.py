"""Entrustment chains as links: owner → entrustee → sub-entrustee …, built from the contracts table.

A link is one step of a chain for one owner's data: the contract that hands the data on, who
gives and who receives it, and the days on which the whole path from the owner down to it is in
force (the intersection of every contract on the path: a sub-contract cannot outlive the owner's
contract it hangs from). A step below the first is approved only when the parent contract lists
the receiving organisation among its allowed subcontractors — a side contract between entrustee
and subcontractor does not make it so, only the owner's consent does (APPI Art. 25, supervision
of entrustees). A subcontractor the owner allowed but for which the registry holds no contract
becomes a link with no contract, so that it is entitled and the missing paper is visible.

The registry is small (contracts, not events), so links are built in Python and handed to DuckDB
as a table for the set-wise joins with the event log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from kansa.govern.basis import FAR_FUTURE, FAR_PAST

LINKS_VIEW = "_govern_links"


@dataclass(frozen=True)
class Contract:
    contract_id: str
    entrustor_id: str
    entrustee_id: str
    owners: tuple[str, ...]
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    allowed_subcontractors: tuple[str, ...]
    valid_from: date | None
    valid_to: date | None
    security_terms: tuple[str, ...]

    def covers(self, owner: str) -> bool:
        """A contract naming no owners covers whatever its entrustor holds (checked by the caller)."""
        return not self.owners or owner in self.owners


@dataclass
class Link:
    link_id: str
    owner_id: str
    parent_id: str | None
    depth: int
    contract: Contract | None          # None: allowed by the parent contract, no contract registered
    entrustor_id: str
    entrustee_id: str
    path_from: date
    path_to: date
    approved: bool                     # this step: first step, or allowed by the parent contract
    path_approved: bool                # every step from the owner down to here
    parent_contract_id: str | None
    parent_allowed: tuple[str, ...]
    parent_categories: tuple[str, ...] | None
    parent_terms: tuple[str, ...] = ()
    problems: list[dict[str, Any]] = field(default_factory=list)

    def in_force(self, day: date) -> bool:
        return self.path_from <= day <= self.path_to


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if value else ()


def load_contracts(con: duckdb.DuckDBPyConnection) -> list[Contract]:
    rows = con.execute(
        "SELECT contract_id, entrustor_id, entrustee_id, owners, categories, purposes, allowed_subcontractors, "
        "valid_from, valid_to, security_terms FROM contracts ORDER BY contract_id").fetchall()
    return [Contract(r[0], r[1], r[2], _tuple(r[3]), _tuple(r[4]), _tuple(r[5]), _tuple(r[6]), r[7], r[8],
                     _tuple(r[9])) for r in rows]


def build_links(contracts: list[Contract], owner: str) -> list[Link]:
    """Every link of ``owner``'s chains, parents before children (cycles cut at the repeat)."""
    by_entrustor: dict[str, list[Contract]] = {}
    for c in contracts:
        by_entrustor.setdefault(c.entrustor_id, []).append(c)
    links: list[Link] = []
    used: set[str] = set()

    def walk(parent: Link | None, holder: str, seen: tuple[str, ...], lo: date, hi: date) -> None:
        covering = [c for c in by_entrustor.get(holder, []) if c.covers(owner)]
        used.update(c.contract_id for c in covering)   # one handing the data back up the chain is no new link
        children = [c for c in covering if c.entrustee_id not in seen]
        for c in children:
            approved = parent is None or (parent.contract is not None
                                          and c.entrustee_id in parent.contract.allowed_subcontractors)
            link = Link(
                link_id=(parent.link_id + ">" if parent else f"{owner}:") + c.contract_id,
                owner_id=owner, parent_id=parent.link_id if parent else None,
                depth=1 if parent is None else parent.depth + 1, contract=c,
                entrustor_id=c.entrustor_id, entrustee_id=c.entrustee_id,
                path_from=max(lo, c.valid_from or FAR_PAST), path_to=min(hi, c.valid_to or FAR_FUTURE),
                approved=approved, path_approved=approved and (parent is None or parent.path_approved),
                parent_contract_id=parent.contract.contract_id if parent and parent.contract else None,
                parent_allowed=parent.contract.allowed_subcontractors if parent and parent.contract else (),
                parent_categories=parent.contract.categories if parent and parent.contract else None,
                parent_terms=parent.contract.security_terms if parent and parent.contract else (),
            )
            links.append(link)
            walk(link, c.entrustee_id, (*seen, c.entrustee_id), link.path_from, link.path_to)
        if parent is not None and parent.contract is not None:
            # Allowed by the parent contract but with no contract of their own in the registry.
            with_contract = {c.entrustee_id for c in children}
            for sub in parent.contract.allowed_subcontractors:
                if sub in with_contract or sub in seen:
                    continue
                links.append(Link(
                    link_id=f"{parent.link_id}>allowed:{sub}", owner_id=owner, parent_id=parent.link_id,
                    depth=parent.depth + 1, contract=None, entrustor_id=holder, entrustee_id=sub,
                    path_from=lo, path_to=hi, approved=True, path_approved=parent.path_approved,
                    parent_contract_id=parent.contract.contract_id,
                    parent_allowed=parent.contract.allowed_subcontractors,
                    parent_categories=parent.contract.categories,
                ))

    walk(None, owner, (owner,), FAR_PAST, FAR_FUTURE)
    # Contracts that name the owner but hang from no chain of it: nobody the owner entrusted passed
    # the data on, yet a contract says someone holds it.
    for c in contracts:
        if c.contract_id not in used and owner in c.owners and c.entrustor_id != owner:
            links.append(Link(
                link_id=f"{owner}:?{c.contract_id}", owner_id=owner, parent_id=None, depth=1, contract=c,
                entrustor_id=c.entrustor_id, entrustee_id=c.entrustee_id,
                path_from=c.valid_from or FAR_PAST, path_to=c.valid_to or FAR_FUTURE,
                approved=False, path_approved=False, parent_contract_id=None, parent_allowed=(),
                parent_categories=None,
            ))
    return links


def register_links(con: duckdb.DuckDBPyConnection, links: list[Link]) -> None:
    """Expose the links to SQL as ``_govern_links`` (owner, link, entrustee, path days, approval)."""
    table = pa.table({
        "owner_id": pa.array([x.owner_id for x in links], pa.string()),
        "link_id": pa.array([x.link_id for x in links], pa.string()),
        "entrustee_id": pa.array([x.entrustee_id for x in links], pa.string()),
        "path_from": pa.array([x.path_from for x in links], pa.date32()),
        "path_to": pa.array([x.path_to for x in links], pa.date32()),
        "path_approved": pa.array([x.path_approved for x in links], pa.bool_()),
    })
    con.register(LINKS_VIEW, table)


def unregister_links(con: duckdb.DuckDBPyConnection) -> None:
    con.unregister(LINKS_VIEW)
