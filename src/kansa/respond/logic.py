"""The small rule language of rules.yaml, in three-valued (Kleene) logic.

Why three values: a fact may be true, false or not known yet. "all" is false as soon as one part
is false and "any" true as soon as one part is true, whatever the unknown parts turn out to be;
otherwise an unknown part leaves the result unknown. That is what lets kansa decide what can be
decided days after a leak, and ask about the rest.
"""

from __future__ import annotations

from typing import Any

Condition = dict[str, Any]
Tri = bool | None


def either(values: list[Tri]) -> Tri:
    """Three-valued OR: true if any is true; unknown if none is true but some are unknown."""
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def both(values: list[Tri]) -> Tri:
    """Three-valued AND: false if any is false; unknown if none is false but some are unknown."""
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def holds(cond: Condition, facts: dict[str, Any]) -> Tri:
    """Evaluate one condition of the small rule language (Kleene three-valued logic)."""
    if "flag" in cond:
        v = facts[cond["flag"]]
        return None if v is None else bool(v)
    if "persons_over" in cond:
        n = facts["persons"]
        return None if n is None else int(n) > int(cond["persons_over"])
    if "all" in cond:
        return both([holds(c, facts) for c in cond["all"]])
    if "any" in cond:
        return either([holds(c, facts) for c in cond["any"]])
    if "not" in cond:
        v = holds(cond["not"], facts)
        return None if v is None else not v
    raise ValueError(f"unknown condition {cond!r}")


def unknown_facts(cond: Condition, facts: dict[str, Any]) -> list[str]:
    """The facts a condition reads that are unknown, in order of appearance."""
    if "flag" in cond:
        return [cond["flag"]] if facts[cond["flag"]] is None else []
    if "persons_over" in cond:
        return ["persons"] if facts["persons"] is None else []
    out: list[str] = []
    for sub in cond.get("all", []) + cond.get("any", []) + ([cond["not"]] if "not" in cond else []):
        out.extend(f for f in unknown_facts(sub, facts) if f not in out)
    return out
