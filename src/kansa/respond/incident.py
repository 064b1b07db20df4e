"""The incident an officer describes: read from YAML (or a dict), checked, normalised.

Why a strict parser: a breach assessment built on a misspelt key ("persons" vs "person") would
silently say "nothing to report". Unknown keys and wrong types are therefore errors that name the
file, and every field the rules read has one canonical name and type here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from kansa.model.errors import InputError, KansaError

CONTROLLER_KINDS = ("business", "administrative_organ", "entrustee")

# Category words officers write, mapped to the flags the rules use.
SENSITIVE_WORDS = frozenset({"sensitive", "要配慮", "要配慮個人情報", "health", "medical", "criminal_record", "病歴", "犯罪歴"})
PROPERTY_WORDS = frozenset({"credit_card", "クレジットカード", "bank_account", "口座", "property", "財産"})

_ALIASES = {
    "persons": "persons",
    "affected_persons": "persons",
    "count": "persons",
    "本人の数": "persons",
    "wrongful_act": "wrongful_purpose",
    "wrongful_purpose": "wrongful_purpose",
    "gdpr": "gdpr",
    "gdpr_applies": "gdpr",
}

_KNOWN = {
    "title", "what", "discovered_at", "occurred_at", "controller_kind", "controller_name",
    "entrustor", "categories", "sensitive", "property_damage", "my_number", "my_number_public",
    "gdpr_unlikely_risk", "gdpr_high_risk", "gdpr_role", "cause", "secondary_damage",
    "measures", "contact", "items", "published", "persons_upper",
}


@dataclass(frozen=True)
class Incident:
    """A normalised incident; flags are derived from categories when not given explicitly."""

    title: str
    discovered_at: datetime
    controller_kind: str
    persons: int
    persons_upper: int | None = None
    categories: tuple[str, ...] = ()
    sensitive: bool = False
    property_damage: bool = False
    wrongful_purpose: bool = False
    my_number: bool = False
    my_number_public: bool = False
    gdpr: bool = False
    gdpr_role: str = "controller"
    gdpr_unlikely_risk: bool = False
    gdpr_high_risk: bool | None = None
    what: str = ""
    occurred_at: datetime | None = None
    controller_name: str = ""
    entrustor: str = ""
    cause: str = ""
    secondary_damage: str = ""
    measures: str = ""
    contact: str = ""
    published: str = ""
    items: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["discovered_at"] = self.discovered_at.isoformat()
        d["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        d["categories"] = list(self.categories)
        d["items"] = list(self.items)
        return d


_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}
_WAREKI = re.compile(r"^(令和|平成|昭和|R|H|S)\s*(元|\d{1,2})\s*[年.]\s*(\d{1,2})\s*[月.]\s*(\d{1,2})\s*日?$")


def _wareki(text: str) -> date | None:
    """令和8年11月2日 / R8.11.2 (full-width digits too) → date; None if not a wareki date."""
    m = _WAREKI.match(unicodedata.normalize("NFKC", text).strip())
    if m is None:
        return None
    era, year, month, day = m.groups()
    try:
        return date(_ERAS[era] + (1 if year == "元" else int(year)), int(month), int(day))
    except ValueError:
        return None


def _when(value: Any, key: str, source: str | None) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.min)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        wareki = _wareki(value)
        if wareki is not None:
            return datetime.combine(wareki, time.min)
    raise InputError(f"{key}: expected an ISO or wareki date (令和8年11月2日), got {value!r}", path=source)


def _bool(value: Any, key: str, source: str | None) -> bool:
    if isinstance(value, bool):
        return value
    raise InputError(f"{key}: expected true or false, got {value!r}", path=source)


def parse_incident(raw: dict[str, Any], source: str | None = None) -> Incident:
    """Check and normalise an incident mapping; raise InputError naming ``source`` on mistakes."""
    if not isinstance(raw, dict):
        raise InputError("incident must be a mapping of keys to values", path=source)
    data: dict[str, Any] = {}
    for key, value in raw.items():
        name = _ALIASES.get(str(key), str(key))
        if name not in _KNOWN and name not in _ALIASES.values():
            raise InputError(f"unknown key {key!r}", path=source)
        data[name] = value
    if "discovered_at" not in data:
        raise InputError("discovered_at is required (when the organisation became aware)", path=source)
    kind = str(data.get("controller_kind", "business"))
    if kind not in CONTROLLER_KINDS:
        raise InputError(f"controller_kind must be one of {', '.join(CONTROLLER_KINDS)}, got {kind!r}", path=source)
    persons = data.get("persons", 0)
    if isinstance(persons, bool) or not isinstance(persons, int) or persons < 0:
        raise InputError(f"persons: expected a whole number >= 0, got {persons!r}", path=source)
    upper = data.get("persons_upper")
    if upper is not None and (isinstance(upper, bool) or not isinstance(upper, int) or upper < persons):
        raise InputError(f"persons_upper: expected a whole number >= persons, got {upper!r}", path=source)
    cats = data.get("categories", []) or []
    if isinstance(cats, str):
        cats = [cats]
    if not isinstance(cats, list):
        raise InputError("categories: expected a list", path=source)
    categories = tuple(str(c) for c in cats)
    items = data.get("items", []) or []
    flags = {k: _bool(data[k], k, source) for k in (
        "sensitive", "property_damage", "wrongful_purpose", "my_number", "my_number_public", "gdpr",
        "gdpr_unlikely_risk",
    ) if k in data}
    high = data.get("gdpr_high_risk")
    role = str(data.get("gdpr_role", "controller"))
    if role not in ("controller", "processor"):
        raise InputError(f"gdpr_role must be controller or processor, got {role!r}", path=source)
    return Incident(
        title=str(data.get("title", data.get("what", "")))[:200],
        discovered_at=_when(data["discovered_at"], "discovered_at", source),
        occurred_at=_when(data["occurred_at"], "occurred_at", source) if data.get("occurred_at") else None,
        controller_kind=kind,
        persons=persons,
        persons_upper=upper,
        categories=categories,
        sensitive=flags.get("sensitive", any(c in SENSITIVE_WORDS for c in categories)),
        property_damage=flags.get("property_damage", any(c in PROPERTY_WORDS for c in categories)),
        wrongful_purpose=flags.get("wrongful_purpose", False),
        my_number=flags.get("my_number", any(c in ("my_number", "マイナンバー", "個人番号") for c in categories)),
        my_number_public=flags.get("my_number_public", False),
        gdpr=flags.get("gdpr", False),
        gdpr_role=role,
        gdpr_unlikely_risk=flags.get("gdpr_unlikely_risk", False),
        gdpr_high_risk=None if high is None else _bool(high, "gdpr_high_risk", source),
        what=str(data.get("what", "")),
        controller_name=str(data.get("controller_name", "")),
        entrustor=str(data.get("entrustor", "")),
        cause=str(data.get("cause", "")),
        secondary_damage=str(data.get("secondary_damage", "")),
        measures=str(data.get("measures", "")),
        contact=str(data.get("contact", "")),
        published=str(data.get("published", "")),
        items=tuple(str(i) for i in (items if isinstance(items, list) else [items])),
    )


def load_incident(path: Path) -> Incident:
    """Read an incident YAML file (UTF-8)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text; save the incident file as UTF-8", path=str(path)) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise KansaError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=str(path), line=line) from exc
    return parse_incident(raw, source=str(path))
