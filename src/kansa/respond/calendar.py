"""Deadline arithmetic on the Japanese administrative calendar.

Why: the PPC counts final-report deadlines in calendar days, but when the last day falls on a
day government offices are closed (weekends, national holidays, 29 Dec – 3 Jan) the deadline
moves to the next open day. Holidays come from jpholiday rather than a hand-kept list.
"""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday


def is_office_closed(day: date) -> bool:
    """True on Saturdays, Sundays, national holidays and the year-end closure (12/29–1/3)."""
    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return True
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def next_open_day(day: date) -> date:
    """``day`` itself if offices are open, else the first open day after it."""
    while is_office_closed(day):
        day += timedelta(days=1)
    return day


def add_calendar_days(start: date, days: int, *, roll_to_open_day: bool = False) -> date:
    """``start`` + ``days`` (start day not counted); optionally rolled to the next open day."""
    due = start + timedelta(days=days)
    return next_open_day(due) if roll_to_open_day else due


def add_business_days(start: date, days: int) -> date:
    """The ``days``-th open day after ``start`` (for rules that count business days)."""
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if not is_office_closed(day):
            left -= 1
    return day


def nth_open_day(start: date, n: int, *, start_counts: bool) -> date:
    """The ``n``-th open day from ``start`` (``start`` itself is day 1 when it counts and is open).

    Why: some organisations count their reporting days in open days; counted so, a deadline never
    lands on a closed day and so needs no rolling.
    """
    day = start if start_counts else start + timedelta(days=1)
    seen = 0
    while True:
        if not is_office_closed(day):
            seen += 1
            if seen >= n:
                return day
        day += timedelta(days=1)
