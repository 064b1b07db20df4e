"""Normalise Japanese personal fields so that two copies of the same person compare equal.

A leaked list is rarely a byte copy of the source: half-width kana, full-width digits, spaces
between family and given name, 和暦 dates, phone numbers with or without hyphens, old character
forms (髙/高), romaji, addresses with or without prefecture. Every comparison kansa makes (keyed
hashes, Bloom encodings, check-links) goes through these functions, so the owner's dataset and the
leak are folded to the same canonical text first.

This module is the one entry point; each field has its own small module (names, kana, addresses,
phones, dates, ids) with the reasons for its rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kansa.trace.addresses import (
    AddressParts,
    check_postcode,
    norm_address,
    norm_postcode,
    parse_address,
    postcode_places,
)
from kansa.trace.dates import looks_like_date, norm_date, parse_wareki
from kansa.trace.ids import id_kind, is_card_number, is_my_number, mask
from kansa.trace.kana import is_kana, norm_kana, romaji_to_katakana
from kansa.trace.names import is_romaji, norm_name, norm_romaji, shrink_kanji, split_name
from kansa.trace.phones import looks_like_phone, norm_phone, phone_kind
from kansa.trace.text import fold, kanji_to_int

_MALE = {"男", "男性", "M", "MALE", "1", "おとこ", "オトコ"}
_FEMALE = {"女", "女性", "F", "FEMALE", "2", "おんな", "オンナ"}


def norm_sex(text: object) -> str:
    """'M', 'F' or '' (男/女, 男性/女性, M/F, male/female, and the JIS X 0303 codes 1/2)."""
    s = fold(text).upper()
    if s in _MALE:
        return "M"
    if s in _FEMALE:
        return "F"
    return ""


NORMALISERS: dict[str, Callable[[object], str]] = {
    "name": norm_name,
    "kana": norm_kana,
    "dob": norm_date,
    "phone": norm_phone,
    "address": norm_address,
    "postcode": norm_postcode,
    "family": norm_name,
    "given": norm_name,
}
"""Canonical field → normaliser. These fields are what kansa compares or blocks on; everything
else is ignored. ``family`` and ``given`` are read by ``family_of`` and ``given_of``, not from a
column of their own."""


def name_parts(name: object) -> tuple[str | None, str | None]:
    """The family and given name of a whole name written with a space (Japanese order: family
    name first); (None, None) when it has no space (an unspaced 山田太郎 could be split in several
    places, and a wrong split would block the row with strangers only) or is in Latin letters (a
    romanised name may be written in either order; the reader reads it as the reading, not the
    name). Folded and split once for both parts."""
    text = fold(name)
    if not text or is_romaji(text):
        return None, None
    family, given = split_name(text)
    return (family, given) if given else (None, None)


def family_from_name(name: object) -> str | None:
    """The family part of ``name_parts``."""
    return name_parts(name)[0]


def given_from_name(name: object) -> str | None:
    """The given part of ``name_parts``."""
    return name_parts(name)[1]


def family_of(fields: Mapping[str, object]) -> object | None:
    """The raw family name of a row where the list says which part it is: a family-name column
    of its own (the reader passes it as ``family``), else a name written with a space."""
    own = fields.get("family")
    if own is not None and fold(own):
        return own
    return family_from_name(fields["name"]) if "name" in fields else None


def given_of(fields: Mapping[str, object]) -> object | None:
    """The raw given name of a row where the list says which part it is: a given-name column of
    its own, else the rest of the name after a family name the list gives apart (the reader joins
    姓 and 名 columns into the name and passes 姓 as ``family``), else the part after the space of
    a spaced name. None otherwise: no split is guessed."""
    own = fields.get("given")
    if own is not None and fold(own):
        return own
    name = fields.get("name")
    if name is None:
        return None
    return given_after(name, fields.get("family"))


def given_after(name: object, family: object) -> str | None:
    """``given_of`` for a name and the row's own family-name value (None or empty: none)."""
    fam, text = fold(family), fold(name)
    if fam and text.startswith(fam) and not is_romaji(text):
        rest = text[len(fam):].strip()
        return rest or None
    return given_from_name(name)


def address_key_alone(raw: object) -> tuple[str, bool]:
    """The address key read from the text alone, and whether it names no municipality (then a
    postcode, when the row has one, completes it: ``complete_address``)."""
    text = fold(raw)
    if not text:
        return "", False
    parts = parse_address(text)
    return parts.key, not parts.municipality


def complete_address(raw: object, postcode: str) -> str:
    """The address key; written without prefecture and municipality, they come from its postcode."""
    text = fold(raw)
    if not text:
        return ""
    parts = parse_address(text)
    if parts.municipality or not postcode:
        return parts.key
    areas = {(p, c) for p, c, _t in postcode_places(postcode)}
    if len(areas) != 1:
        return parts.key
    p, c = next(iter(areas))
    return norm_address(p + c + text.removeprefix(p))


def normalise_record(fields: dict[str, object]) -> dict[str, str]:
    """Normalise the canonical fields present in ``fields``; empty results are dropped."""
    out: dict[str, str] = {}
    family, given = family_of(fields), given_of(fields)
    fields = {k: v for k, v in fields.items() if k not in ("family", "given")}
    fields.update({k: v for k, v in (("family", family), ("given", given)) if v is not None})
    for key, fn in NORMALISERS.items():
        if key in fields and key != "address":
            v = fn(fields[key])
            if v:
                out[key] = v
    if "address" in fields:
        v = complete_address(fields["address"], out.get("postcode", ""))
        if v:
            out["address"] = v
    return out


__all__ = [
    "NORMALISERS", "AddressParts", "address_key_alone", "check_postcode", "complete_address", "family_from_name",
    "family_of", "fold", "given_after", "given_from_name", "given_of", "id_kind", "is_card_number", "is_kana",
    "is_my_number", "is_romaji", "kanji_to_int", "looks_like_date", "looks_like_phone", "mask", "name_parts",
    "norm_address", "norm_date", "norm_kana", "norm_name", "norm_phone", "norm_postcode", "norm_romaji",
    "norm_sex", "normalise_record", "parse_address", "parse_wareki", "phone_kind", "postcode_places",
    "romaji_to_katakana", "shrink_kanji", "split_name",
]
