"""Chains: the tree the contracts draw, each link's problems, and access judged only up to the day."""

from __future__ import annotations

from datetime import date
from typing import Any

from kansa.govern import chains
from kansa.govern.links import Contract, build_links
from kansa.model.workspace import Workspace

from .govern_world import LAST_DAY, OWNER, Events, build, d


def _flat(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for n in nodes:
        out[n["entrustee"]] = n
        out.update(_flat(n["children"]))
    return out


def _codes(node: dict[str, Any]) -> set[str]:
    return {p["code"] for p in node["problems"]}


def test_tree_and_problems(ws: Workspace) -> None:
    build(ws)
    r = chains(ws)
    assert r["on"] == LAST_DAY                      # default: the last day of the logs
    (owner,) = r["owners"]
    assert [n["entrustee"] for n in owner["links"]] == ["bpo", "old_vendor"]
    links = _flat(owner["links"])
    assert sorted(c["entrustee"] for c in links["bpo"]["children"]) == ["sub_ok", "sub_paper", "sub_x"]
    assert _codes(links["bpo"]) == set()
    assert _codes(links["sub_ok"]) == set()
    assert _codes(links["sub_paper"]) == {"no_contract_registered"}
    assert _codes(links["sub_x"]) == {"unapproved_reentrustment", "abroad", "scope_wider", "weaker_terms"}
    assert links["sub_x"]["access_in_force"]["events"] == 6
    assert "sub_ok, sub_paper" in next(p["reason"] for p in links["sub_x"]["problems"]
                                       if p["code"] == "unapproved_reentrustment")
    old = links["old_vendor"]
    assert not old["in_force"] and _codes(old) == {"expired_with_access"}
    assert "2 event(s)" in old["problems"][0]["reason"]
    assert [(x["org"], x["events"], x["actors"]) for x in owner["outside"]] == [("vendor", 3, 1)]
    assert owner["unresolved_events"] == 2          # 'ghost' and the unresolved event
    # The agency temp placed at bpo counts as bpo's staff, not as the agency's (no contract).
    assert links["bpo"]["access_in_force"]["events"] == 4 + 6 + 5 + 2 + 10   # b1 b2 b3 t1 svc; no login
    assert r["problems"]["no_contract"] == 1 and r["problems"]["unapproved_reentrustment"] == 1


def test_judged_only_up_to_the_day(ws: Workspace) -> None:
    build(ws)
    owner = chains(ws, on=d(4, 9))["owners"][0]
    links = _flat(owner["links"])
    assert owner["outside"] == []                   # the vendor's first read is on 4-10
    assert "old_vendor" not in links                # expired, and no access after its end yet
    assert links["sub_x"]["access_in_force"]["events"] == 6
    before = chains(ws, on=d(4, 8))["owners"][0]
    assert _flat(before["links"])["sub_x"]["access_in_force"]["events"] == 0


def test_links_out_of_force_are_hidden(ws: Workspace) -> None:
    build(ws)
    ws.con.execute("UPDATE contracts SET valid_to = DATE '2024-04-20' WHERE contract_id = 'C3'")
    links = _flat(chains(ws)["owners"][0]["links"])
    assert "sub_x" in links                         # still shown: its access was unapproved
    assert not links["sub_x"]["in_force"]
    ws.con.execute("DELETE FROM access_events WHERE actor_id = 'x1'")
    assert "sub_x" not in _flat(chains(ws)["owners"][0]["links"])


def _c(cid: str, frm: str, to: str, owners: tuple[str, ...] = ("o",), allowed: tuple[str, ...] = (),
       valid: tuple[date | None, date | None] = (None, None)) -> Contract:
    return Contract(cid, frm, to, owners, ("basic",), ("p",), allowed, valid[0], valid[1], ())


def test_cycles_end_and_paths_intersect() -> None:
    contracts = [_c("A", "o", "x", allowed=("y",), valid=(date(2024, 1, 1), date(2024, 6, 30))),
                 _c("B", "x", "y", allowed=("x",), valid=(date(2024, 3, 1), None)),
                 _c("C", "y", "x"),                  # hands the data back up: cut, no endless chain
                 _c("D", "z", "w")]                  # names the owner but hangs from no chain of it
    links = {x.link_id: x for x in build_links(contracts, "o")}
    assert set(links) == {"o:A", "o:A>B", "o:?D"}
    assert links["o:A>B"].path_from == date(2024, 3, 1) and links["o:A>B"].path_to == date(2024, 6, 30)
    assert links["o:A>B"].path_approved
    assert not links["o:?D"].approved


def test_owner_without_contracts(ws: Workspace) -> None:
    build(ws)
    Events(ws, next_id=10_000).read(d(4, 5), "b1", 2, owner="town_b", resource="town_b.people")
    town = chains(ws, owner="town_b")["owners"][0]
    assert town["links"] == [] and not town["has_contracts"]
    assert [(x["org"], x["events"]) for x in town["outside"]] == [("bpo", 2)]
    assert OWNER not in [o["owner_id"] for o in chains(ws, owner="town_b")["owners"]]


def test_renewal_covers_access_after_the_old_end(ws: Workspace) -> None:
    build(ws)
    ws.con.execute("INSERT INTO contracts VALUES ('C4b', 'city_a', 'old_vendor', ['city_a'], ['basic'], "
                   "['maintenance'], [], DATE '2024-04-11', NULL, [])")
    owner = chains(ws)["owners"][0]
    vendor_links = [n for n in owner["links"] if n["entrustee"] == "old_vendor"]
    assert [n["contract_id"] for n in vendor_links] == ["C4b"]     # the ended one has nothing to answer for
    assert _codes(vendor_links[0]) == set() and vendor_links[0]["access_in_force"]["events"] == 2


def test_access_before_the_contract_starts(ws: Workspace) -> None:
    build(ws)
    ws.con.execute("UPDATE contracts SET valid_from = DATE '2024-04-20' WHERE contract_id = 'C2'")
    sub_ok = _flat(chains(ws)["owners"][0]["links"])["sub_ok"]
    assert _codes(sub_ok) == {"before_start"} and sub_ok["access_in_force"]["events"] == 0
