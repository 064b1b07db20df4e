"""Start an incident from a trace result (contract C4): owners, entrustors, persons.

Why: after a leaked list is attributed, the officer should not retype what trace already knows —
whose records they are (the entrustors a contractor must notify) and how many persons. Unattributed
rows still are persons whose data leaked, so they count towards the possible upper bound
("発生したおそれがある" counts for the thresholds); whose they are stays a question.
Suspects are not copied: the incident file names no staff, only counts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from kansa.model.errors import KansaError
from kansa.respond.incident import parse_incident


def _owners(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """C4 ``owners`` rows; older trace results list ``datasets`` with ``matched`` counts."""
    if isinstance(trace.get("owners"), list):
        # dataset_ids name the exact dataset versions matched: the registry's categories are read
        # from them (versions of one dataset may hold different items)
        return [{"owner": str(o.get("owner", "")), "dataset": str(o.get("dataset", "")),
                 "records": int(o.get("records") or 0), "window": o.get("window"),
                 **({"dataset_ids": [str(i) for i in o["dataset_ids"]]} if o.get("dataset_ids") else {})}
                for o in trace["owners"]]
    if isinstance(trace.get("datasets"), list):
        return [{"owner": str(d.get("owner", "")), "dataset": str(d.get("name") or d.get("dataset_id") or ""),
                 "records": int(d.get("matched") or 0), "window": None,
                 **({"dataset_ids": [str(d["dataset_id"])]} if d.get("dataset_id") else {})}
                for d in trace["datasets"]]
    raise KansaError("not a trace result: expected an 'owners' list (kansa trace --json output)")


def incident_from_trace(trace: dict[str, Any], learned_at: date, **facts: Any) -> dict[str, Any]:
    """Incident facts (as in an incident YAML) filled from a trace result; ``facts`` override.

    With ``owner=X`` the incident is that owner's (a controller): persons are X's records, and the
    unattributed rows are a possible upper bound. Otherwise the organisation is the one that held
    every owner's data (usually an entrustee): all owners become entrustors to notify.
    """
    owners = [o for o in _owners(trace) if o["owner"]]
    total = int(trace.get("records") or trace.get("rows") or 0)
    got = trace.get("attributed", trace.get("matched_rows"))
    attributed = int(got) if got is not None else sum(o["records"] for o in owners)
    total = max(total, attributed)
    got = trace.get("unattributed")
    unattributed = int(got if got is not None else max(total - attributed, 0))
    per_owner: dict[str, int] = defaultdict(int)
    for o in owners:
        per_owner[o["owner"]] += o["records"]
    me = facts.pop("owner", None)
    out: dict[str, Any] = {
        "learned_at": learned_at.isoformat(),
        "title": f"流出名簿の発見（{total:,}件、{len(per_owner)}委託元に帰属）",
        "what": (f"発見された名簿 {total:,} 件のうち {attributed:,} 件を {len(per_owner)} 組織のデータに照合、"
                 f"{unattributed:,} 件は帰属不明 (kansa trace)。"),
        "owners": owners,
        "source": str(trace.get("per_record") or trace.get("file") or ""),
    }
    if me is not None:
        if me not in per_owner:
            raise KansaError(f"owner {me!r} is not among the trace's owners ({', '.join(sorted(per_owner)) or 'none'})")
        out["role"] = "controller"
        out["persons"] = per_owner[me]
        if unattributed:
            out["persons_upper"] = per_owner[me] + unattributed
        out["owners"] = [o for o in owners if o["owner"] == me]
    else:
        out["entrustors"] = sorted(per_owner)
        out["persons"] = attributed
        if total > attributed:
            out["persons_upper"] = total
    out.update(facts)
    parse_incident(out)  # the caller gets facts kansa can assess, or a clear error now
    return out
