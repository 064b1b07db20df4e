"""The incident an officer describes: read from YAML (or a dict), checked, normalised.

Why a strict parser: a breach assessment built on a misspelt key ("persons" vs "person") would
silently say "nothing to report". Unknown keys and wrong types are therefore errors that name the
file, and every field the rules read has one canonical name and type here.

Why facts may be unknown (None): in the first days after a leak most facts are not known yet.
A missing fact must never read as "no" — the engine answers "unknown" and asks who can tell.
So a field left out stays None here; only facts whose absence cannot create a duty (e.g. an
exemption such as high-level encryption) are given a conservative default by the engine.
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
SECTORS = ("business", "public_body")
ROLES = ("controller", "entrustee")
CAUSES = ("malicious", "error", "loss", "unknown")
JURISDICTIONS = ("appi", "gdpr")

# Category words officers write, mapped to the flags the rules use (issue #6 names the four
# English words; the Japanese and finer words are what officers actually type).
SENSITIVE_WORDS = frozenset({
    "sensitive", "要配慮", "要配慮個人情報", "health", "medical", "criminal_record", "病歴", "犯罪歴",
    "信条", "人種", "障害", "健康診断",
})
PROPERTY_WORDS = frozenset({
    "financial", "credit_card", "card_number", "クレジットカード", "クレジットカード番号", "bank_account",
    "口座", "bank_credentials", "login_credentials", "property", "財産",
})
ORDINANCE_WORDS = frozenset({"ordinance_sensitive", "条例要配慮", "条例要配慮個人情報"})
MY_NUMBER_WORDS = frozenset({"my_number", "マイナンバー", "個人番号", "特定個人情報"})

# Cause words → the cause kinds the rules read.
_CAUSE_WORDS = {
    "malicious": "malicious", "unauthorised_access": "malicious", "unauthorized_access": "malicious",
    "insider": "malicious", "theft": "malicious", "skimming": "malicious", "不正": "malicious",
    "不正アクセス": "malicious", "内部不正": "malicious", "盗難": "malicious",
    "error": "error", "mis_sending": "error", "missending": "error", "誤送信": "error", "誤送付": "error",
    "誤操作": "error", "設定ミス": "error",
    "loss": "loss", "紛失": "loss", "置き忘れ": "loss",
    "unknown": "unknown", "不明": "unknown",
}

_ALIASES = {
    "persons": "persons",
    "affected_persons": "persons",
    "count": "persons",
    "本人の数": "persons",
    "wrongful_act": "wrongful_purpose",
    "wrongful_purpose": "wrongful_purpose",
    "gdpr": "gdpr",
    "gdpr_applies": "gdpr",
    "learned_at": "discovered_at",
    "discovered_at": "discovered_at",
    "知った日": "discovered_at",
}

_KNOWN = {
    "title", "what", "discovered_at", "occurred_at", "controller_kind", "controller_name",
    "entrustor", "entrustors", "categories", "sensitive", "property_damage", "my_number",
    "my_number_public", "my_number_system", "ordinance_sensitive", "gdpr_unlikely_risk",
    "gdpr_high_risk", "gdpr_role", "cause", "cause_detail", "secondary_damage", "measures",
    "contact", "items", "published", "persons_upper", "sector", "role", "suspected", "encrypted",
    "jurisdictions", "being_acquired", "counting", "owners", "source", "categories_from", "findings",
}

# What the incident keeps of an audit finding: evidence for the cause, never who (the incident
# names no staff; the finding id leads a reviewer back to kansa audit).
FINDING_KEYS = ("finding_id", "rule", "day", "severity", "reason_ja", "reason_en", "verdict")
# Triage verdicts that take a finding out of the evidence (kansa.audit's verdict words).
_DISMISSED = frozenset({"benign", "dismissed"})


@dataclass(frozen=True)
class Incident:
    """A normalised incident. ``None`` means "not known yet"; flags come from categories/cause."""

    title: str
    discovered_at: datetime
    sector: str | None = None
    role: str | None = None
    persons: int | None = None
    persons_upper: int | None = None
    categories: tuple[str, ...] | None = None
    # "registry": categories of the datasets trace matched — what may have leaked, per entrustor
    categories_from: str = ""
    sensitive: bool | None = None
    property_damage: bool | None = None
    ordinance_sensitive: bool | None = None
    wrongful_purpose: bool | None = None
    cause_kind: str | None = None
    suspected: bool | None = None
    encrypted: bool | None = None
    being_acquired: bool = False
    my_number: bool | None = None
    my_number_public: bool | None = None
    my_number_system: bool | None = None
    appi: bool = True
    jurisdictions_given: bool = True
    gdpr: bool | None = None
    gdpr_role: str | None = None
    gdpr_unlikely_risk: bool = False
    gdpr_high_risk: bool | None = None
    # PPC guideline 3-5-3-4 (as quoted by two secondary sources): the day of learning is day 1
    first_day_counts: bool = True
    # an organisation's own stricter practice may count open days; the PPC counts calendar days
    business_days: bool = False
    what: str = ""
    occurred_at: datetime | None = None
    controller_name: str = ""
    entrustors: tuple[str, ...] = ()
    # per entrustor (same order): {"name", "sector", "org_id", "persons"} as far as known
    entrustor_details: tuple[dict[str, Any], ...] = ()
    owners: tuple[dict[str, Any], ...] = ()
    # audit findings offered as evidence for the cause (FINDING_KEYS only)
    findings: tuple[dict[str, Any], ...] = ()
    cause: str = ""
    secondary_damage: str = ""
    measures: str = ""
    contact: str = ""
    published: str = ""
    source: str = ""
    items: tuple[str, ...] = field(default_factory=tuple)

    @property
    def controller_kind(self) -> str | None:
        """business | administrative_organ | entrustee, or None while sector or role is unknown."""
        kinds = self.possible_kinds
        return next(iter(kinds)) if len(kinds) == 1 else None

    @property
    def possible_kinds(self) -> frozenset[str]:
        """The controller kinds the known facts still allow (all three when nothing is known)."""
        if self.sector == "public_body":
            return frozenset({"administrative_organ"})
        business = {"controller": "business", "entrustee": "entrustee"}
        if self.sector == "business":
            return frozenset({business[self.role]}) if self.role else frozenset(business.values())
        if self.role == "entrustee":
            return frozenset({"entrustee", "administrative_organ"})
        if self.role == "controller":
            return frozenset({"business", "administrative_organ"})
        return frozenset(CONTROLLER_KINDS)

    @property
    def entrustor(self) -> str:
        """The entrustors as one line (for drafts)."""
        return "、".join(self.entrustors)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["discovered_at"] = self.discovered_at.isoformat()
        d["learned_at"] = d["discovered_at"]
        d["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        d["categories"] = None if self.categories is None else list(self.categories)
        d["items"] = list(self.items)
        d["entrustors"] = list(self.entrustors)
        d["entrustor_details"] = [dict(e) for e in self.entrustor_details]
        d["owners"] = [dict(o) for o in self.owners]
        d["findings"] = [dict(f) for f in self.findings]
        d["controller_kind"] = self.controller_kind
        d["entrustor"] = self.entrustor
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


_ERA_STARTS = ((date(2019, 5, 1), "令和", 2018), (date(1989, 1, 8), "平成", 1988), (date(1926, 12, 25), "昭和", 1925))
_WEEKDAYS_JA = "月火水木金土日"


def to_wareki(day: date) -> str:
    """date → 令和8年11月7日（土）: how Japanese official documents write dates."""
    for start, era, offset in _ERA_STARTS:
        if day >= start:
            year = day.year - offset
            y = "元" if year == 1 else str(year)
            return f"{era}{y}年{day.month}月{day.day}日（{_WEEKDAYS_JA[day.weekday()]}）"
    return day.isoformat()


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


def _opt_bool(data: dict[str, Any], key: str, source: str | None) -> bool | None:
    """A yes/no fact: absent, null or "unknown" → None (not known yet)."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and value.strip().lower() in ("unknown", "不明")):
        return None
    return _bool(value, key, source)


_COUNT_TEXT = re.compile(r"^(?:約|およそ|about\s*|approx\.?\s*)?([0-9][0-9,]*)\s*(?:人|名|件|persons?)?$", re.IGNORECASE)


def _count(value: Any, key: str, source: str | None) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("unknown", "不明", "")):
        return None
    if isinstance(value, str):
        # 「約1,200人」「１２００名」 as officers write them (an estimate counts, like "おそれ")
        m = _COUNT_TEXT.match(unicodedata.normalize("NFKC", value).strip())
        if m is not None:
            value = int(m.group(1).replace(",", ""))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{key}: expected a whole number >= 0 or null (unknown), got {value!r}", path=source)
    return value


def _str_list(value: Any, key: str, source: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise InputError(f"{key}: expected a list", path=source)
    return tuple(str(v) for v in value)


def _entrustors(value: Any, source: str | None) -> list[dict[str, Any]]:
    """Entrustors as names, or as mappings {name, sector, org_id, persons} (from the workspace model)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):
            if not item.get("name"):
                raise InputError("entrustors: each mapping needs a name", path=source)
            sector = item.get("sector")
            if sector is not None and sector not in SECTORS:
                raise InputError(f"entrustors: sector must be one of {', '.join(SECTORS)}, got {sector!r}",
                                 path=source)
            cats = item.get("categories")
            out.append({"name": str(item["name"]), "sector": sector, "org_id": item.get("org_id"),
                        "persons": _count(item.get("persons"), "entrustors.persons", source),
                        "categories": None if cats is None else list(_str_list(cats, "entrustors.categories", source))})
        else:
            out.append({"name": str(item), "sector": None, "org_id": None, "persons": None, "categories": None})
    return out


def evidence_findings(value: Any, source: str | None = None) -> list[dict[str, Any]]:
    """Audit findings (kansa audit findings --json rows) as the incident keeps them.

    Only FINDING_KEYS are kept (no actor), dismissed or benign ones are dropped, and the list is
    ordered by day so the drafts read as a sequence of events.
    """
    if value is None:
        return []
    if isinstance(value, dict) and isinstance(value.get("findings"), list):
        value = value["findings"]
    if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
        raise InputError("findings: expected a list of audit findings (kansa audit findings --json)", path=source)
    out: list[dict[str, Any]] = []
    for f in value:
        if not f.get("finding_id"):
            raise InputError("findings: each finding needs its finding_id", path=source)
        if str(f.get("verdict") or "open") in _DISMISSED:
            continue
        out.append({k: (None if f.get(k) is None else str(f[k])) for k in FINDING_KEYS})
    return sorted(out, key=lambda f: (f["day"] or "", f["finding_id"]))


def category_flags(categories: tuple[str, ...] | None) -> dict[str, bool | None]:
    """The rule flags a list of data items implies (None for each when the list is unknown)."""
    return {"sensitive": _from_categories(categories, SENSITIVE_WORDS),
            "property_damage": _from_categories(categories, PROPERTY_WORDS),
            "ordinance_sensitive": _from_categories(categories, ORDINANCE_WORDS),
            "my_number": _from_categories(categories, MY_NUMBER_WORDS)}


def _from_categories(categories: tuple[str, ...] | None, words: frozenset[str]) -> bool | None:
    """True if a category names the kind; False if categories are listed without it; None if unlisted."""
    if categories is None:
        return None
    return any(unicodedata.normalize("NFKC", c).strip().lower() in words or c in words for c in categories)


_SECTOR_WORDS = {"民間": "business", "事業者": "business", "民間事業者": "business", "個人情報取扱事業者": "business",
                 "public": "public_body", "行政機関": "public_body", "行政機関等": "public_body",
                 "地方公共団体": "public_body", "自治体": "public_body", "独立行政法人": "public_body"}
_ROLE_WORDS = {"委託先": "entrustee", "受託者": "entrustee", "processor": "entrustee", "自社": "controller",
               "委託元": "controller", "本人": "controller"}
_JURISDICTION_WORDS = {"個人情報保護法": "appi", "番号法": "appi"}


def _word(value: Any, words: dict[str, str]) -> Any:
    """A Japanese (or alternative) word for an enum value → the value; anything else unchanged."""
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        return words.get(text, words.get(text.lower(), text.lower() if text.isascii() else text))
    return value


def _sector_role(data: dict[str, Any], source: str | None) -> tuple[str | None, str | None]:
    """sector/role from the issue-#6 keys, or from the older single ``controller_kind``."""
    sector = _word(data.get("sector"), _SECTOR_WORDS)
    role = _word(data.get("role"), _ROLE_WORDS)
    if sector is not None and sector not in SECTORS:
        raise InputError(f"sector must be one of {', '.join(SECTORS)}, got {sector!r}", path=source)
    if role is not None and role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}", path=source)
    kind = data.get("controller_kind")
    if kind is not None:
        if kind not in CONTROLLER_KINDS:
            raise InputError(
                f"controller_kind must be one of {', '.join(CONTROLLER_KINDS)}, got {kind!r}", path=source)
        implied = {"business": ("business", "controller"), "administrative_organ": ("public_body", None),
                   "entrustee": ("business", "entrustee")}[kind]
        if sector is not None and sector != implied[0]:
            raise InputError(f"controller_kind {kind!r} contradicts sector {sector!r}", path=source)
        sector = implied[0]
        role = role if role is not None else implied[1]
    return sector, role


def _cause(data: dict[str, Any], source: str | None) -> tuple[str | None, str]:
    """(cause kind or None, free-text cause for the drafts)."""
    raw = data.get("cause")
    detail = str(data.get("cause_detail", "") or "")
    if raw is None:
        return None, detail
    text = str(raw).strip()
    kind = _CAUSE_WORDS.get(unicodedata.normalize("NFKC", text).lower())
    if kind is None:
        # free text (the older format): a description, its kind still to be decided
        return None, text if not detail else f"{text} / {detail}"
    return kind, detail


def parse_incident(raw: dict[str, Any], source: str | None = None) -> Incident:
    """Check and normalise an incident mapping; raise InputError naming ``source`` on mistakes."""
    if not isinstance(raw, dict):
        raise InputError("incident must be a mapping of keys to values", path=source)
    data: dict[str, Any] = {}
    for key, value in raw.items():
        name = _ALIASES.get(str(key), str(key))
        if name not in _KNOWN and name not in _ALIASES.values():
            raise InputError(f"unknown key {key!r}", path=source)
        if name in data and data[name] != value:
            raise InputError(f"{key!r} repeats {name!r} with another value ({data[name]!r} vs {value!r})", path=source)
        data[name] = value
    if "discovered_at" not in data:
        raise InputError("learned_at (discovered_at) is required: when the organisation became aware", path=source)
    sector, role = _sector_role(data, source)
    persons = _count(data.get("persons"), "persons", source)
    upper = _count(data.get("persons_upper"), "persons_upper", source)
    if upper is not None and persons is not None and upper < persons:
        raise InputError(f"persons_upper: expected a whole number >= persons, got {upper!r}", path=source)
    # an empty list says nothing about the data items: unknown, like a missing key
    categories = _str_list(data.get("categories"), "categories", source) or None
    cause_kind, cause_text = _cause(data, source)
    wrongful = _opt_bool(data, "wrongful_purpose", source)
    if wrongful is None and cause_kind in ("malicious", "error", "loss"):
        wrongful = cause_kind == "malicious"
    if cause_kind is None and wrongful is not None:
        cause_kind = "malicious" if wrongful else None
    jur = data.get("jurisdictions")
    jurisdictions = None if jur is None else tuple(
        _word(j, _JURISDICTION_WORDS) for j in _str_list(jur, "jurisdictions", source))
    for j in jurisdictions or ():
        if j not in JURISDICTIONS:
            raise InputError(f"jurisdictions: expected any of {', '.join(JURISDICTIONS)}, got {j!r}", path=source)
    gdpr = _opt_bool(data, "gdpr", source)
    if gdpr is None and jurisdictions is not None:
        gdpr = "gdpr" in jurisdictions
    gdpr_role = data.get("gdpr_role")
    if gdpr_role is not None and gdpr_role not in ("controller", "processor"):
        raise InputError(f"gdpr_role must be controller or processor, got {gdpr_role!r}", path=source)
    if gdpr_role is None and role is not None:
        gdpr_role = "processor" if role == "entrustee" else "controller"
    counting = data.get("counting") or {}
    if not isinstance(counting, dict) or set(counting) - {"first_day_counts", "business_days"}:
        raise InputError("counting: expected a mapping with first_day_counts: true|false and/or "
                         "business_days: true|false", path=source)
    details = _entrustors(data.get("entrustors"), source)
    for extra in _str_list(data.get("entrustor"), "entrustor", source):
        if extra not in {d["name"] for d in details}:
            details.append({"name": extra, "sector": None, "org_id": None, "persons": None, "categories": None})
    entrustors = tuple(d["name"] for d in details)
    owners = data.get("owners") or []
    if not isinstance(owners, list) or not all(isinstance(o, dict) for o in owners):
        raise InputError("owners: expected a list of mappings (owner, dataset, records)", path=source)
    items = data.get("items", []) or []

    def flag(key: str, words: frozenset[str]) -> bool | None:
        explicit = _opt_bool(data, key, source)
        return explicit if explicit is not None else _from_categories(categories, words)

    return Incident(
        title=str(data.get("title", data.get("what", "")) or "")[:200],
        discovered_at=_when(data["discovered_at"], "learned_at", source),
        occurred_at=_when(data["occurred_at"], "occurred_at", source) if data.get("occurred_at") else None,
        sector=sector,
        role=role,
        persons=persons,
        persons_upper=upper,
        categories=categories,
        categories_from=str(data.get("categories_from", "") or ""),
        sensitive=flag("sensitive", SENSITIVE_WORDS),
        property_damage=flag("property_damage", PROPERTY_WORDS),
        ordinance_sensitive=flag("ordinance_sensitive", ORDINANCE_WORDS),
        my_number=flag("my_number", MY_NUMBER_WORDS),
        my_number_public=_opt_bool(data, "my_number_public", source),
        my_number_system=_opt_bool(data, "my_number_system", source),
        wrongful_purpose=wrongful,
        cause_kind=cause_kind,
        suspected=_opt_bool(data, "suspected", source),
        encrypted=_opt_bool(data, "encrypted", source),
        being_acquired=bool(_opt_bool(data, "being_acquired", source)),
        appi=True if jurisdictions is None else "appi" in jurisdictions,
        jurisdictions_given=jurisdictions is not None or gdpr is not None,
        gdpr=gdpr,
        gdpr_role=gdpr_role,
        gdpr_unlikely_risk=bool(_opt_bool(data, "gdpr_unlikely_risk", source)),
        gdpr_high_risk=_opt_bool(data, "gdpr_high_risk", source),
        first_day_counts=_bool(counting.get("first_day_counts", True), "counting.first_day_counts", source),
        business_days=_bool(counting.get("business_days", False), "counting.business_days", source),
        what=str(data.get("what", "") or ""),
        controller_name=str(data.get("controller_name", "") or ""),
        entrustors=entrustors,
        entrustor_details=tuple(details),
        owners=tuple(dict(o) for o in owners),
        findings=tuple(evidence_findings(data.get("findings"), source)),
        cause=cause_text,
        secondary_damage=str(data.get("secondary_damage", "") or ""),
        measures=str(data.get("measures", "") or ""),
        contact=str(data.get("contact", "") or ""),
        published=str(data.get("published", "") or ""),
        source=str(data.get("source", "") or ""),
        items=tuple(str(i) for i in (items if isinstance(items, list) else [items])),
    )


def load_incident(path: Path) -> Incident:
    """Read an incident YAML file (UTF-8)."""
    return parse_incident(read_incident_mapping(path), source=str(path))


def read_incident_mapping(path: Path) -> dict[str, Any]:
    """The raw mapping of an incident YAML file; errors name the file (and line for YAML errors)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # Windows editors may add a BOM
    except UnicodeDecodeError:
        try:
            text = data.decode("cp932")  # Shift_JIS from older Windows tools
        except UnicodeDecodeError as exc:
            raise InputError("neither UTF-8 nor Shift_JIS (CP932) text; save the incident file as UTF-8",
                             path=str(path)) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise KansaError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=str(path), line=line) from exc
    if not isinstance(raw, dict):
        raise InputError("incident must be a mapping of keys to values", path=str(path))
    return raw
