"""The Fellegi–Sunter model kansa hands to Splink: comparisons on keyed hashes and Bloom filters.

Splink never sees a name. Each field arrives as a keyed hash (equal hashes = equal normalised
values) and as a Bloom filter of its bigrams (Dice of two filters ≈ string similarity), so every
comparison is a custom SQL level over those two columns:

* null (either side lacks the field: no evidence either way),
* exact (hashes equal; for names and readings term-frequency adjusted, so that 佐藤 agreeing
  counts for less than 勅使河原),
* one or two fuzzy levels on the Bloom Dice coefficient,
* else.

The m probabilities (how often a true copy of a record shows that level) are set from the damage
a leaked list really carries after kansa's normalisation — variant kanji the map does not fold,
one-character typos, re-keyed phone digits, people who moved — not fitted to a test world;
``M_PROBABILITIES`` lists them with their reasons. The u probabilities (how often two different
people agree by chance) are estimated from the data by Splink's random sampling, and the
term frequencies come from the whole index.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator

# Dice thresholds of the fuzzy levels. With 8 hash positions per padded bigram, one changed
# character in a 4-character name changes 2 of 5 bigrams (Dice ≈ 0.6); in a 10-character date or
# phone number 2 of 11 (≈ 0.8); a different person shares few bigrams (Dice ≈ 0.2–0.4 for dates,
# which share the century and separators, less for names).
FUZZY_LEVELS: dict[str, tuple[float, ...]] = {
    "name": (0.75, 0.55),
    "kana": (0.75, 0.55),
    "dob": (0.75,),
    "phone": (0.75,),
    "address": (0.85, 0.6),
}

# m per level, in order: exact, fuzzy levels..., else. Reasons:
# name: itaiji outside the fold map, one-character typos, a married name: ~8 % not exact.
# kana: readings re-typed (ヅ/ズ, long vowels) a little less often than kanji.
# dob: dates survive re-typing well once wareki is converted; a digit typo now and then.
# phone: a digit typo in ~5 % of copies, a changed number in a few more.
# address: re-typed addresses drift (番地 forms, building names) and people move: ~20 % not exact.
# postcode: almost always copied as is, or changed by a move.
M_PROBABILITIES: dict[str, tuple[float, ...]] = {
    "name": (0.90, 0.06, 0.02, 0.02),
    "kana": (0.92, 0.04, 0.02, 0.02),
    "dob": (0.95, 0.03, 0.02),
    "phone": (0.88, 0.06, 0.06),
    "address": (0.78, 0.12, 0.05, 0.05),
    "postcode": (0.93, 0.07),
}
TF_FIELDS: tuple[str, ...] = ("name", "kana")
"""Exact agreement on these is weighted by how common the value is in the index."""


def dice_sql(field: str) -> str:
    """SQL for the Dice coefficient of the two sides' Bloom filters (BIT columns)."""
    left, right = f'"bf_{field}_l"', f'"bf_{field}_r"'
    return f"(2.0 * bit_count({left} & {right}) / (bit_count({left}) + bit_count({right})))"


def _level(creator: Any, m: float, u: float | None) -> Any:
    creator.configure(m_probability=m)
    if u is not None:
        creator.configure(u_probability=u)
    return creator


def field_comparison(field: str, u: list[float] | None = None) -> cl.CustomComparison:
    """Null / exact (hash) / fuzzy (Bloom Dice) levels / else for one field; ``u`` per non-null
    level when already estimated."""
    m = M_PROBABILITIES[field]
    us: list[float | None] = list(u) if u else [None] * len(m)
    h_l, h_r = f'"h_{field}_l"', f'"h_{field}_r"'
    levels: list[Any] = [
        cll.CustomLevel(f"{h_l} IS NULL OR {h_r} IS NULL", "null").configure(is_null_level=True),
    ]
    exact = _level(cll.CustomLevel(f"{h_l} = {h_r}", "exact"), m[0], us[0])
    if field in TF_FIELDS:
        exact = exact.configure(tf_adjustment_column=f"h_{field}", tf_adjustment_weight=1.0)
    levels.append(exact)
    for i, threshold in enumerate(FUZZY_LEVELS.get(field, ())):
        levels.append(
            _level(cll.CustomLevel(f"{dice_sql(field)} >= {threshold}", f"bloom dice >= {threshold}"), m[1 + i],
                   us[1 + i])
        )
    levels.append(_level(cll.ElseLevel(), m[-1], us[-1]))
    return cl.CustomComparison(comparison_levels=levels, output_column_name=field)


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
)


def settings(
    fields: list[str], prior: float, u: dict[str, list[float]] | None = None, link_type: Literal["link_only", "dedupe_only"] = "link_only"
) -> SettingsCreator:
    """Splink settings for linking a leak (left) to indexed holdings (right).

    ``fields``: the fields the leak has (comparisons on others would only add null levels).
    ``prior``: probability that a random leak row and a random indexed record are the same
    person (about one over the number of distinct people indexed).
    ``u``: per field, u of each non-null level (estimated once per index state).
    """
    rules: list[Any] = [r for r in BLOCKING_RULES if _rule_fields(r) <= set(fields)]  # SQL strings
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=[field_comparison(f, (u or {}).get(f)) for f in M_PROBABILITIES if f in fields],
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


def _rule_fields(rule: str) -> set[str]:
    return {m.removesuffix("_rare") for m in re.findall(r"l\.h_(\w+?) ", rule + " ")}
