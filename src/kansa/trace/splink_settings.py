"""The Fellegi–Sunter model kansa hands to Splink: comparisons on keyed hashes and Bloom filters.

Splink never sees a name. Each field arrives as a keyed hash (equal hashes = equal normalised
values) and as a Bloom filter of its bigrams (Dice of two filters ≈ string similarity), so every
comparison is a custom SQL level over those two columns: null (either side lacks the field: no
evidence either way), exact (hashes equal; for names term-frequency adjusted, so that 佐藤 agreeing
counts for less than 勅使河原), one or two fuzzy levels on the Bloom Dice coefficient, else.

Fellegi–Sunter multiplies the evidence of comparisons as if independent. A name and its reading
are not (the reading follows from the name), nor are an address and its postcode: counted
twice, a namesake from another source with a different phone number and address would still
look like a match. So when a leak has both members of such a pair they form one comparison
(``person_name``, ``place``) whose levels say which of the two agreed; a leak with one of them
uses the single-field comparison.

Where the list and the index both say which part of a name is the family name, the name
comparison has two more levels: "family name agrees, given name differs" (a given name replaced
or re-typed beyond a typo) and "given name agrees, family name differs" (marriage, adoption),
each weighted by how common that part is in the index (佐藤 agreeing says less than 勅使河原).
The first is not taken when the pair shares an exact address or phone: a household's members
share its family name, so among pairs at one address a shared family name is what different
people show too (Fellegi–Sunter would count the household twice, once in the place and once in
the name). Such a pair is compared as before — by the whole name — and a sibling listed at the
family's address is not attributed to the one indexed.

The m probabilities (how often a true copy of a record shows that level) are set from the
damage a leaked list really carries after kansa's normalisation — variant kanji the map does not
fold, one-character typos, re-keyed phone digits, people who moved — not fitted to a test world;
the reasons stand next to each value. The u probabilities (how often two different people agree
by chance) are estimated from the index by Splink's random sampling (``linkage``), and the term
frequencies come from the whole index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator


def dice_sql(field: str) -> str:
    """SQL for the Dice coefficient of the two sides' Bloom filters (BIT columns)."""
    left, right = f'"bf_{field}_l"', f'"bf_{field}_r"'
    return f"(2.0 * bit_count({left} & {right}) / (bit_count({left}) + bit_count({right})))"


def _eq(field: str) -> str:
    return f'"h_{field}_l" = "h_{field}_r"'


def _null(field: str) -> str:
    return f'("h_{field}_l" IS NULL OR "h_{field}_r" IS NULL)'


def _dice(field: str, at_least: float) -> str:
    return f"coalesce({dice_sql(field)} >= {at_least}, FALSE)"


@dataclass(frozen=True)
class Level:
    sql: str
    label: str
    m: float
    tf: str | None = None  # term-frequency column


@dataclass(frozen=True)
class Spec:
    """One comparison: the fields it needs (all of them present in the leak) and its levels
    (the null level is added: none of its fields on one side). ``output`` names its column
    (``mw_<output>``) when two variants of one comparison exist (with and without the name's
    parts): the variants have their own u, under ``name``."""

    name: str
    fields: tuple[str, ...]
    levels: tuple[Level, ...]
    output: str = ""

    @property
    def column(self) -> str:
        return self.output or self.name


NAME_PARTS: tuple[str, ...] = ("family", "given")


def _household_differs() -> str:
    """SQL: the pair shares neither an exact address nor an exact phone (a household's keys)."""
    return f"NOT coalesce({_eq('address')}, FALSE) AND NOT coalesce({_eq('phone')}, FALSE)"


FAMILY_LEVEL = "family name agrees, given name differs, not one household"
GIVEN_LEVEL = "given name agrees, family name differs"


def _family_level(m: float) -> Level:
    return Level(f"{_eq('family')} AND {_household_differs()}", FAMILY_LEVEL, m, "h_family")


def _given_level(m: float) -> Level:
    return Level(f"{_eq('given')} AND NOT coalesce({_eq('family')}, FALSE)", GIVEN_LEVEL, m, "h_given")


# Dice thresholds. With 8 hash positions per padded bigram, one changed character in a
# 4-character name changes 2 of 5 bigrams (Dice ≈ 0.6); in a 10-character date or phone number
# 2 of 11 (≈ 0.8); different people share few bigrams (dates share the century and separators).
_PERSON_NAME_HEAD: tuple[Level, ...] = (
    # a true copy keeps both (or the list lacks the reading for this record) ~87 %
    Level(f"{_eq('name')} AND ({_eq('kana')} OR {_null('kana')})", "name exact, reading agrees or absent",
          0.87, "h_name"),
    # the reading re-typed wrongly, or a second reading of the same kanji
    Level(_eq("name"), "name exact, reading differs", 0.03, "h_name"),
    # variant kanji the fold map does not know, a typo in the kanji
    Level(f"{_eq('kana')} AND ({_dice('name', 0.55)} OR {_null('name')})", "reading exact, name close or absent",
          0.06, "h_kana"),
    Level(f"{_dice('name', 0.75)} OR {_dice('kana', 0.75)}", "name or reading close", 0.02),
)
_PERSON_NAME_SIMILAR = f"{_dice('name', 0.55)} OR {_dice('kana', 0.55)}"
_NAME_HEAD: tuple[Level, ...] = (
    # itaiji outside the fold map, one-character typos, a married name: ~8 % not exact
    Level(_eq("name"), "exact", 0.90, "h_name"),
    Level(_dice("name", 0.75), "bloom dice >= 0.75", 0.06),
)

SPECS: tuple[Spec, ...] = (
    # the name comparisons with the name's parts: chosen (``specs_for``) when the leak has names
    # and the index holds given names (indexed since trace migration 6); an older index keeps the
    # comparisons without them, and links exactly as before
    Spec("person_name_parts", ("name", "kana", "family", "given"), (
        *_PERSON_NAME_HEAD,
        # the 0.02 a true copy spent on "similar" and "else" without the parts, shared out. Family
        # name kept, given name changed in kanji *and* reading (a kanji typo alone leaves the
        # reading exact, a level above): a given name replaced — a row mixed with a family
        # member's in the source, a legal change — rare in Japanese lists, which carry no nicknames
        _family_level(0.003),
        # a marriage (or adoption) between the index's version and the copy: a few in a thousand
        # adults a year, over the few years a list circulates
        _given_level(0.004),
        Level(_PERSON_NAME_SIMILAR, "name or reading similar", 0.0065),
        Level("TRUE", "else", 0.0065),
    ), "person_name"),
    Spec("name_parts", ("name", "family", "given"), (
        *_NAME_HEAD,
        # without a reading, a one-character typo in a two-character given name lands here too
        # (Dice of the whole name ≈ 0.6, below "close"), besides given names replaced
        _family_level(0.02),
        _given_level(0.005),
        Level(_dice("name", 0.55), "bloom dice >= 0.55", 0.0075),
        Level("TRUE", "else", 0.0075),
    ), "name"),
    Spec("person_name", ("name", "kana"), (
        *_PERSON_NAME_HEAD,
        Level(_PERSON_NAME_SIMILAR, "name or reading similar", 0.01),
        Level("TRUE", "else", 0.01),
    )),
    Spec("name", ("name",), (
        *_NAME_HEAD,
        Level(_dice("name", 0.55), "bloom dice >= 0.55", 0.02),
        Level("TRUE", "else", 0.02),
    )),
    Spec("kana", ("kana",), (
        # readings re-typed (ヅ/ズ, long vowels) a little less often than kanji
        Level(_eq("kana"), "exact", 0.92, "h_kana"),
        Level(_dice("kana", 0.75), "bloom dice >= 0.75", 0.04),
        Level(_dice("kana", 0.55), "bloom dice >= 0.55", 0.02),
        Level("TRUE", "else", 0.02),
    )),
    Spec("dob", ("dob",), (
        # dates survive re-typing well once wareki is converted; a digit typo now and then
        Level(_eq("dob"), "exact", 0.95),
        Level(_dice("dob", 0.75), "bloom dice >= 0.75", 0.03),
        Level("TRUE", "else", 0.02),
    )),
    Spec("phone", ("phone",), (
        # a digit typo in ~5 % of copies (Dice ≈ 0.8 for 11 digits, ≈ 0.7 for a 7-digit id),
        # a changed number in a few more
        Level(_eq("phone"), "exact", 0.90),
        Level(_dice("phone", 0.75), "bloom dice >= 0.75", 0.04),
        Level(_dice("phone", 0.6), "bloom dice >= 0.6", 0.02),
        Level("TRUE", "else", 0.04),
    )),
    Spec("place", ("address", "postcode"), (
        # re-typed addresses drift (番地 forms, building names), people move: ~20 % not exact
        Level(_eq("address"), "address exact", 0.78),
        Level(_dice("address", 0.85), "address close", 0.12),
        Level(_eq("postcode"), "same postcode, address differs or absent", 0.05),
        Level(_dice("address", 0.6), "address similar", 0.02),
        Level("TRUE", "else", 0.03),
    )),
    Spec("address", ("address",), (
        Level(_eq("address"), "exact", 0.78),
        Level(_dice("address", 0.85), "bloom dice >= 0.85", 0.12),
        Level(_dice("address", 0.6), "bloom dice >= 0.6", 0.05),
        Level("TRUE", "else", 0.05),
    )),
    Spec("postcode", ("postcode",), (
        # almost always copied as is, or changed by a move
        Level(_eq("postcode"), "exact", 0.93),
        Level("TRUE", "else", 0.07),
    )),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}
TF_FIELDS: tuple[str, ...] = ("name", "kana", "family", "given")
"""Exact agreement on these is weighted by how common the value is in the index."""
TF_FLOOR: dict[str, tuple[tuple[str, str], ...]] = {
    "name": (("name", "exact"), ("name_parts", "exact")),
    "kana": (("kana", "exact"),),
    "family": (("name_parts", FAMILY_LEVEL),),
    "given": (("name_parts", GIVEN_LEVEL),),
}
"""Per term-frequency field, the (comparison, level) whose u floors its term frequencies: the
first of them whose u was estimated (``trained_specs``)."""


def tf_floor(field: str, u: dict[str, list[float]]) -> float:
    """The u (estimated from the index) that a value of ``field`` nobody else holds is given."""
    spec_name, label = next(c for c in TF_FLOOR[field] if c[0] in u)
    spec = SPEC_BY_NAME[spec_name]
    return u[spec_name][next(i for i, lv in enumerate(spec.levels) if lv.label == label)]


def trained_specs(parts: bool) -> list[Spec]:
    """The comparisons whose u an index needs: with the name's parts (the index holds given
    names) their variants replace the whole-name comparisons, else those stay. Estimating only
    these keeps the u sample's work at what it was before the parts: the comparisons over a
    million sampled pairs are most of a small trace's CPU (FEBRL 4)."""
    replaced = {s.output for s in SPECS if s.output}
    if parts:
        return [s for s in SPECS if s.name not in replaced]
    return [s for s in SPECS if not s.output]


def tf_fields(specs: list[Spec]) -> list[str]:
    """The fields whose term frequencies these comparisons use."""
    used = {lv.tf for s in specs for lv in s.levels if lv.tf}
    return [f for f in TF_FIELDS if f"h_{f}" in used]


def unseen_u(pairs: int) -> float:
    """u of a level that none of ``pairs`` random pairs of indexed records reached.

    Not 0 (an infinite weight) and not a fixed small number either: zero agreements among a
    thousand pairs says much less than zero among a million. Laplace's rule of succession,
    1 / (pairs + 2), is the expected rate after that many misses; at Splink's million sampled
    pairs it is the 1e-6 kansa used before, in an index of 100 people (4,950 pairs) 2e-4 —
    so that a full name no other of 100 people holds is not taken as one in a million.
    """
    return 1.0 / (max(pairs, 0) + 2)


def term_frequency_sql(count: str, records: int, people: int, level_u: float) -> str:
    """SQL for the u of an exact agreement on a value that ``count`` indexed records carry.

    u is the chance that the leaked row of *someone else* carries the value. Splink's usual
    term frequency, count / records, counts the candidate's own record among those someone else
    might be: a name only the candidate holds then looks as common as one in ``records``, which
    in an index of mostly unique names is far above the level's average u, so an exact name
    weighs less than the level says (3.6 bits in FEBRL 4). Among the other people indexed, the
    share carrying the value is (count / copies − 1) / (people − 1), copies being the records
    per person (versions of a dataset repeat the same people). For a value nobody else holds
    that share is 0, yet the population beyond the index may carry it: all the index says of
    such a value is what it says of the average one. By Good–Turing, the chance that one more
    person carries a value seen once is about 2·n₂ / (n₁·N) (n₁ values seen once, n₂ twice),
    which is the share of random pairs that agree when most values are rare: the level's u,
    estimated by random sampling. So the level's u is the floor: a value is weighted above the
    level only when others in the index are known to carry it.
    """
    copies = records / max(people, 1)
    return f"greatest(({count} / {copies!r} - 1) / {float(max(people - 1, 1))!r}, {level_u!r})"


def specs_for(fields: list[str]) -> list[Spec]:
    """The comparisons for a leak with these fields: combined ones where it has both members."""
    have = set(fields)
    chosen: list[Spec] = []
    covered: set[str] = set()
    for s in SPECS:  # combined specs come before their single-field ones
        if set(s.fields) <= have and not set(s.fields) & covered:
            chosen.append(s)
            covered |= set(s.fields)
    return chosen


def comparison(spec: Spec, u: list[float] | None = None, by_name: bool = False) -> cl.CustomComparison:
    """Splink comparison for ``spec``; ``u`` per non-null level when already estimated. Its column
    is ``spec.column``, or ``spec.name`` with ``by_name`` (every variant side by side)."""
    # the name's parts come from the name: a side without name (and reading) has no evidence
    null_sql = " AND ".join(_null(f) for f in spec.fields if f not in NAME_PARTS)
    levels: list[Any] = [cll.CustomLevel(null_sql, "null").configure(is_null_level=True)]
    for i, lv in enumerate(spec.levels):
        creator = cll.ElseLevel() if lv.sql == "TRUE" else cll.CustomLevel(lv.sql, lv.label)
        creator.configure(m_probability=lv.m)
        if u is not None:
            creator.configure(u_probability=u[i])
        if lv.tf:
            # the level's own u is the base of the adjustment: with it, a value's frequency in the
            # index replaces the level's average chance agreement
            creator.configure(tf_adjustment_column=lv.tf, tf_adjustment_weight=1.0,
                              disable_tf_exact_match_detection=True)
        levels.append(creator)
    return cl.CustomComparison(comparison_levels=levels, output_column_name=spec.name if by_name else spec.column)


# Blocking: a candidate pair must agree exactly on one of these. Pairs of fields, because one
# field alone (a birthday, 佐藤) pulls in too many people; the single name/reading rules use
# ``*_rare`` columns, which the leak side fills only when that value is rare in the index (the
# holdings side copies its value: Splink may put either side on the left).
BLOCKING_RULES: tuple[str, ...] = (
    "l.h_name = r.h_name AND l.h_dob = r.h_dob",
    "l.h_kana = r.h_kana AND l.h_dob = r.h_dob",
    "l.h_phone = r.h_phone",
    "l.h_address = r.h_address",
    "l.h_name = r.h_name AND l.h_postcode = r.h_postcode",
    "l.h_kana = r.h_kana AND l.h_postcode = r.h_postcode",
    "l.h_dob = r.h_dob AND l.h_postcode = r.h_postcode",
    "l.h_name_rare = r.h_name_rare",
    "l.h_kana_rare = r.h_kana_rare",
    "l.h_dob_rare = r.h_dob_rare",
    "l.h_postcode_rare = r.h_postcode_rare",
    "l.h_family_rare = r.h_family_rare",
)


def settings(
    fields: list[str],
    prior: float,
    u: dict[str, list[float]] | None = None,
    link_type: Literal["link_only", "dedupe_only"] = "link_only",
    specs: list[Spec] | None = None,
    by_name: bool = False,
) -> SettingsCreator:
    """Splink settings for linking a leak (left) to indexed holdings (right).

    ``fields``: the fields the leak has (comparisons on others would only add null levels).
    ``prior``: probability that a random leak row and a random indexed record are the same
    person (about one over the number of distinct people indexed).
    ``u``: per comparison name, u of each non-null level (estimated once per index state).
    ``specs``: the comparisons (default: ``specs_for(fields)``).
    ``by_name``: comparison columns named by spec, not by output (u is estimated for every
    variant of a comparison side by side).
    """
    rules: list[Any] = [r for r in BLOCKING_RULES if _rule_fields(r) <= set(fields)]  # SQL strings
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=[comparison(s, (u or {}).get(s.name), by_name) for s in (specs or specs_for(fields))],
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


def _rule_fields(rule: str) -> set[str]:
    return {m.removesuffix("_rare") for m in re.findall(r"l\.h_(\w+?) ", rule + " ")}
