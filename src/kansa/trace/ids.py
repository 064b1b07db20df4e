"""Recognise My Number (個人番号) and payment-card numbers so that kansa never keeps them in clear.

A leaked list or an owner's dataset may carry an individual number or a card number. They are
the most dangerous values in it and are never needed to attribute a list (name, reading, birth
date, phone and address do that), so the reader marks such columns and nothing downstream
stores or prints them. Recognition is by structure, not by header: a 12-digit value whose check
digit is right (the rule of the My Number Act's ordinance, art. 5) or a 13–19 digit value with a
card issuer prefix that passes the Luhn check. A column qualifies when most of its values do.
"""

from __future__ import annotations

import re
from typing import Literal

from kansa.trace.text import fold

IdKind = Literal["my_number", "card"]
_CARD_PREFIX = re.compile(r"^(4|5[1-5]|2[2-7]|3[47]|35|3[068]|6)")


def _digits(text: object) -> str:
    s = fold(text)
    if re.search(r"[^\d\s\-]", s):
        return ""
    return re.sub(r"\D", "", s)


def my_number_check_digit(first11: str) -> int:
    """The check digit of an individual number from its first 11 digits."""
    if len(first11) != 11 or not first11.isdigit():
        raise ValueError("need exactly 11 digits")
    total = 0
    for n, ch in enumerate(reversed(first11), start=1):
        q = n + 1 if n <= 6 else n - 5
        total += int(ch) * q
    r = total % 11
    return 0 if r <= 1 else 11 - r


def is_my_number(text: object) -> bool:
    """12 digits (spaces or hyphens allowed) whose last digit is the right check digit."""
    d = _digits(text)
    return len(d) == 12 and my_number_check_digit(d[:11]) == int(d[11])


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        v = int(ch)
        if i % 2 == 1:
            v = v * 2 - 9 if v > 4 else v * 2
        total += v
    return total % 10 == 0


def is_card_number(text: object) -> bool:
    """13–19 digits with an issuer prefix (Visa, Mastercard, JCB, Amex, Diners, UnionPay/Discover) and Luhn."""
    d = _digits(text)
    return 13 <= len(d) <= 19 and bool(_CARD_PREFIX.match(d)) and luhn_ok(d)


def id_kind(text: object) -> IdKind | None:
    """'my_number', 'card' or None for a single value."""
    if is_my_number(text):
        return "my_number"
    if is_card_number(text):
        return "card"
    return None


def mask(text: object) -> str:
    """What may be shown of a sensitive number: its kind only, never a digit."""
    kind = id_kind(text)
    return f"[{kind}]" if kind else "[id]"
