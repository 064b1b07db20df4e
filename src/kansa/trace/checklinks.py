"""Linkage integrity: two datasets joined by an identifier, and the links whose people disagree.

The My Number mis-registrations happened when records were joined on a number (or on name and
birth date) and the number went to somebody else: the join "worked", the people differ. Here every
link (the same key in A and in B) is compared field by field on the normalised values, and the
disagreements are weighed by what normal life explains:

* spelling that carries no difference (variant kanji, width, spacing, kana/romaji) is agreement;
* a changed family name with the same given name (marriage, adoption) weighs ``MINOR`` (0.5);
* a move within the same municipality weighs nothing, to another municipality of the same
  prefecture ``MINOR``, to another prefecture ``MOVE_FAR`` (1.0): people move, the link can be right;
* a slip of one digit, swapped day and month or one day off in a birth date weighs ``SLIP`` (1.0);
* a different name or a different birth date weighs ``STRONG`` (3.0); a different sex ``SEX`` (2.0)
  (registered changes exist but are rare); a reading that contradicts an agreeing name 1.0, one
  that contradicts a disagreeing name adds 1.0 more.

A link is listed as ``mislink`` at ``STRONG`` or more: one identifying field that normal variation
cannot explain, or several minor ones together; as ``check`` from ``CHECK`` (1.5). The weights are
set from these reasons, not fitted to a data set. Keys that name several different people inside
one dataset are listed too. Sensitive keys (My Number, card numbers) are never printed: rows are
named by line number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kansa.model.errors import InputError
from kansa.trace.addresses import parse_address
from kansa.trace.dates import norm_date
from kansa.trace.ids import id_kind
from kansa.trace.kana import norm_kana
from kansa.trace.names import norm_name, split_name
from kansa.trace.normalize import norm_sex
from kansa.trace.reader import Table, read_table
from kansa.trace.text import fold

STRONG = 3.0
SEX = 2.0
SLIP = 1.0
MOVE_FAR = 1.0
MINOR = 0.5
CHECK = 1.5
MAX_PAIRS_PER_KEY = 25


@dataclass
class Person:
    """The normalised, comparable view of one row (held in memory only)."""

    line: int
    name: str = ""
    family: str = ""
    given: str = ""
    kana: str = ""
    kana_family: str = ""
    kana_given: str = ""
    dob: str = ""
    sex: str = ""
    address: str = ""
    area: str = ""
    prefecture: str = ""


@dataclass
class Reason:
    field: str
    kind: str
    weight: float
    en: str
    ja: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "kind": self.kind, "weight": self.weight, "en": self.en, "ja": self.ja}


@dataclass
class Comparison:
    score: float = 0.0
    reasons: list[Reason] = field(default_factory=list)
    agree: list[str] = field(default_factory=list)

    def add(self, r: Reason) -> None:
        self.reasons.append(r)
        self.score += r.weight


def _bigram_dice(a: str, b: str) -> float:
    if a == b:
        return 1.0
    ga = {a[i:i + 2] for i in range(len(a) - 1)} or {a}
    gb = {b[i:i + 2] for i in range(len(b) - 1)} or {b}
    return 2 * len(ga & gb) / (len(ga) + len(gb))


def _split(raw_whole: object, family: object, given: object) -> tuple[str, str]:
    if fold(family) or fold(given):
        return fold(family), fold(given)
    return split_name(raw_whole)


def person(table: Table, i: int) -> Person:
    """The comparable fields of data row ``i``."""
    row = table.rows[i]
    raw = table.fields(row)
    cols = table.columns
    cell = (lambda k: row[cols[k]] if k in cols and cols[k] < len(row) else "")  # noqa: E731
    fam, giv = _split(raw.get("name", ""), cell("name_family"), cell("name_given"))
    kfam, kgiv = _split(raw.get("kana", ""), cell("kana_family"), cell("kana_given"))
    addr = parse_address(fold(raw.get("address", ""))) if fold(raw.get("address", "")) else None
    return Person(
        line=table.line_of(i),
        name=norm_name(raw.get("name", "")),
        family=norm_name(fam) if giv else "",
        given=norm_name(giv) if giv else "",
        kana=norm_kana(raw.get("kana", "")),
        kana_family=norm_kana(kfam) if kgiv else "",
        kana_given=norm_kana(kgiv) if kgiv else "",
        dob=norm_date(raw.get("dob", "")),
        sex=norm_sex(raw.get("sex", "")),
        address=addr.key if addr else "",
        area=addr.area if addr and addr.municipality else "",
        prefecture=addr.prefecture if addr else "",
    )


def _family_changed(full_a: str, full_b: str, given_a: str, given_b: str) -> bool:
    """Same given name, different family name (marriage, adoption)."""
    if given_a and given_b:
        return given_a == given_b
    k = 0  # no split known: a shared ending of two or more characters is the given name
    while k < min(len(full_a), len(full_b)) and full_a[-1 - k] == full_b[-1 - k]:
        k += 1
    return k >= 2 and k < max(len(full_a), len(full_b))


def _date_slip(a: str, b: str) -> bool:
    """One wrong digit, day and month swapped, or one day off (a time-zone or Excel-epoch shift)."""
    if sum(x != y for x, y in zip(a, b, strict=True)) == 1:
        return True
    da, db = date.fromisoformat(a), date.fromisoformat(b)
    return abs((da - db).days) == 1 or (da.year == db.year and da.month == db.day and da.day == db.month)


def compare(a: Person, b: Person) -> Comparison:
    """Weigh how far two rows joined by a key are from being the same person."""
    c = Comparison()
    name_strong = False
    if a.name and b.name:
        if a.name == b.name:
            c.agree.append("name")
        elif _family_changed(a.name, b.name, a.given, b.given):
            c.add(Reason("name", "family_changed", MINOR, "family name differs, given name the same (marriage?)",
                         "姓のみ相違（婚姻等による変更の可能性）"))
        elif _bigram_dice(a.name, b.name) >= 0.5:
            c.add(Reason("name", "spelling", MINOR, "name spelt slightly differently", "氏名の表記ゆれ"))
        else:
            name_strong = True
            c.add(Reason("name", "different", STRONG, "different name", "氏名が異なる"))
    if a.kana and b.kana:
        if a.kana == b.kana:
            c.agree.append("kana")
        elif _family_changed(a.kana, b.kana, a.kana_given, b.kana_given):
            c.add(Reason("kana", "family_changed", 0.0 if c.reasons else MINOR,
                         "reading of the family name differs", "姓の読みが異なる"))
        elif _bigram_dice(a.kana, b.kana) >= 0.5:
            c.add(Reason("kana", "spelling", MINOR, "reading spelt slightly differently", "フリガナの表記ゆれ"))
        else:
            c.add(Reason("kana", "different", 1.0, "different reading" + (" as well" if name_strong else ""),
                         "フリガナも異なる" if name_strong else "フリガナが異なる"))
    if a.dob and b.dob:
        if a.dob == b.dob:
            c.agree.append("dob")
        elif _date_slip(a.dob, b.dob):
            c.add(Reason("dob", "slip", SLIP, "birth date differs by one digit, one day or a day/month swap",
                         "生年月日が1桁違い（入力誤りの可能性）"))
        else:
            c.add(Reason("dob", "different", STRONG, "different birth date", "生年月日が異なる"))
    if a.sex and b.sex:
        if a.sex == b.sex:
            c.agree.append("sex")
        else:
            c.add(Reason("sex", "different", SEX, "different sex", "性別が異なる"))
    if a.address and b.address:
        if a.address == b.address:
            c.agree.append("address")
        elif a.area and a.area == b.area:
            c.add(Reason("address", "moved_nearby", 0.0, "address differs within the same municipality (a move)",
                         "同一市区町村内の住所相違（転居）"))
        elif a.prefecture and a.prefecture == b.prefecture:
            c.add(Reason("address", "moved", MINOR, "different municipality, same prefecture",
                         "同一都道府県内の別市区町村"))
        elif _bigram_dice(a.address, b.address) >= 0.8:
            c.add(Reason("address", "spelling", 0.0, "address spelt slightly differently", "住所の表記ゆれ"))
        else:
            c.add(Reason("address", "moved_far", MOVE_FAR, "address in another prefecture", "別の都道府県の住所"))
    return c


def _key(value: str) -> str:
    s = fold(value)
    compact = s.replace("-", "").replace(" ", "")
    return compact if compact.isdigit() else s


def _keyed_rows(table: Table, column: str) -> dict[str, list[int]]:
    if column not in table.header:
        raise InputError(f"key column {column!r} not in header {table.header}", path=str(table.path))
    idx = table.header.index(column)
    out: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(table.rows):
        if i in table.skipped or idx >= len(row):
            continue
        k = _key(row[idx])
        if k:
            out[k].append(i)
    return out


def _key_kind(keys: Sequence[str]) -> str:
    sample = list(keys)[:200]
    kinds = [id_kind(k) for k in sample]
    for kind in ("my_number", "card"):
        if sample and kinds.count(kind) >= len(sample) / 2:  # type: ignore[arg-type]
            return kind
    return "id"


def _shown_key(key: str, kind: str) -> str:
    return f"[{kind}]" if kind != "id" or id_kind(key) else key


def _duplicates(table: Table, keyed: dict[str, list[int]], side: str, kind: str) -> list[dict[str, Any]]:
    """Keys that name different people inside one dataset (a number given to two people)."""
    out = []
    for k, rows in keyed.items():
        if len(rows) < 2:
            continue
        people = [person(table, i) for i in rows[:MAX_PAIRS_PER_KEY]]
        worst = max(compare(people[0], p).score for p in people[1:])
        if worst >= STRONG:
            out.append({"side": side, "key": _shown_key(k, kind), "lines": [p.line for p in people],
                        "score": worst})
    return sorted(out, key=lambda d: (-d["score"], d["lines"][0]))


def check_links(
    a: Path,
    b: Path,
    on: str,
    on_b: str | None = None,
    *,
    encoding_a: str | None = None,
    encoding_b: str | None = None,
    show_all: bool = False,
    limit: int | None = None,
) -> dict[str, Any]:
    """Join A and B on key column ``on`` (``on_b`` in B if it is named differently) and rank the
    links whose people disagree beyond normal variation. Values of the key are never returned when
    they are My Numbers or card numbers; rows are named by file line."""
    # the key column is an identifier, never a compared field (a 12-digit number is not a phone)
    ta = read_table(Path(a), encoding=encoding_a, id_column=on)
    tb = read_table(Path(b), encoding=encoding_b, id_column=on_b or on)
    ka, kb = _keyed_rows(ta, on), _keyed_rows(tb, on_b or on)
    kind = _key_kind([*ka.keys(), *kb.keys()])
    common = sorted(set(ka) & set(kb))
    fields = sorted(set(ta.canonical_fields + (["sex"] if "sex" in ta.columns else []))
                    & set(tb.canonical_fields + (["sex"] if "sex" in tb.columns else [])))
    cache_a: dict[int, Person] = {}
    cache_b: dict[int, Person] = {}
    listed: list[dict[str, Any]] = []
    counts = {"mislink": 0, "check": 0, "consistent": 0}
    links = 0
    for k in common:
        for i in ka[k][:MAX_PAIRS_PER_KEY]:
            pa = cache_a.setdefault(i, person(ta, i))
            for j in kb[k][:MAX_PAIRS_PER_KEY]:
                pb = cache_b.setdefault(j, person(tb, j))
                links += 1
                c = compare(pa, pb)
                verdict = "mislink" if c.score >= STRONG else "check" if c.score >= CHECK else "consistent"
                counts[verdict] += 1
                if verdict == "consistent" and not (show_all and c.reasons):
                    continue
                listed.append({
                    "line_a": pa.line, "line_b": pb.line, "key": _shown_key(k, kind), "score": round(c.score, 2),
                    "verdict": verdict, "reasons": [r.as_dict() for r in c.reasons if r.weight > 0 or show_all],
                    "agree": c.agree,
                })
    listed.sort(key=lambda d: (-d["score"], d["line_a"], d["line_b"]))
    for rank, d in enumerate(listed, start=1):
        d["rank"] = rank
    return {
        "a": {"file": str(ta.path), "rows": len(ta.rows), "keys": len(ka)},
        "b": {"file": str(tb.path), "rows": len(tb.rows), "keys": len(kb)},
        "on": [on, on_b or on],
        "key_kind": kind,
        "compared_fields": fields,
        "links": links,
        "only_in_a": len(set(ka) - set(kb)),
        "only_in_b": len(set(kb) - set(ka)),
        "mislinks": counts["mislink"],
        "to_check": counts["check"],
        "consistent": counts["consistent"],
        "disagreements": listed[:limit] if limit else listed,
        "duplicate_keys": _duplicates(ta, ka, "a", kind) + _duplicates(tb, kb, "b", kind),
        "method": {"strong": STRONG, "check": CHECK, "sex": SEX, "slip": SLIP, "minor": MINOR, "move_far": MOVE_FAR},
    }
