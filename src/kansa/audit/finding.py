"""A finding as detectors produce it, before it is stored.

Every finding carries its own explanation (reason in Japanese and English, the numbers it
compared) and the event ids behind it, so that nobody has to trust a score without evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class Finding:
    rule: str
    actor_id: str | None
    day: date
    score: float
    severity: str
    reason_ja: str
    reason_en: str
    detail: dict[str, Any] = field(default_factory=dict)
    access_events: list[int] = field(default_factory=list)
    endpoint_events: list[int] = field(default_factory=list)
    key: str = ""  # distinguishes two findings of one rule, actor and day (e.g. the owner)


def severity_for(score: float, high: float, medium: float) -> str:
    if score >= high:
        return "high"
    if score >= medium:
        return "medium"
    return "low"
