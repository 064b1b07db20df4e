"""Telephone numbers in the Japanese numbering plan, folded to the domestic digit string.

Lists write 090-1234-5678, ０９０（１２３４）５６７８, +81 90 1234 5678, 0081-90-..., or — after a
spreadsheet took the column for a number — 9012345678 without its leading zero. All become
09012345678. ``phone_kind`` tells a mobile (070/080/090, and 060 opened in 2025) from an IP
(050), toll-free (0120/0800), shared-cost (0570) or fixed-line number, which check-links uses:
two people with the same fixed number may share a household, a shared mobile is rarer.
"""

from __future__ import annotations

import re
from typing import Literal

from kansa.trace.text import fold

PhoneKind = Literal["mobile", "ip", "toll_free", "shared_cost", "fixed", "invalid"]
_EXTENSION = re.compile(r"(内線|ext\.?|x|#).*$", re.IGNORECASE)
_INTERNATIONAL = re.compile(r"^(?:\+|00|010)?81")
_NOT_DIGIT_OR_PLUS = re.compile(r"[^\d+]")
_NOT_DIGIT = re.compile(r"\D")


def norm_phone(text: object) -> str:
    """Digits only, domestic form: +81/0081/010-81 → 0, a leading zero lost by Excel restored."""
    s = _EXTENSION.sub("", fold(text))
    compact = _NOT_DIGIT_OR_PLUS.sub("", s)
    m = _INTERNATIONAL.match(compact)
    digits = _NOT_DIGIT.sub("", compact)
    if m and (compact.startswith(("+", "00", "010")) or len(digits) in (11, 12)):
        digits = "0" + digits[len(_NOT_DIGIT.sub("", m.group(0))):].lstrip("0")
    elif digits and digits[0] != "0" and len(digits) in (9, 10):
        digits = "0" + digits  # the column was read as a number
    return digits


def phone_kind(text: object) -> PhoneKind:
    """Which part of the numbering plan a number belongs to (after ``norm_phone``)."""
    d = norm_phone(text)
    if len(d) == 11 and d[:3] in ("060", "070", "080", "090"):
        return "mobile"
    if len(d) == 11 and d.startswith("050"):
        return "ip"
    if (len(d) == 10 and d.startswith("0120")) or (len(d) == 11 and d.startswith("0800")):
        return "toll_free"
    if len(d) == 10 and d.startswith("0570"):
        return "shared_cost"
    if len(d) == 10 and d[0] == "0" and d[1] != "0" and d[:3] not in ("050", "060", "070", "080", "090"):
        return "fixed"
    return "invalid"


def looks_like_phone(text: object) -> bool:
    """True for a value that is a valid Japanese number as written (hyphens, brackets, +81 ...)."""
    s = fold(text)
    if not s or re.search(r"[^\d\s()+\-‐－ー.]", s):
        return False
    return phone_kind(s) != "invalid"
