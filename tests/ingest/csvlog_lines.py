"""One PostgreSQL csvlog record (26 columns) with a pgaudit or connection message, for reader
tests: both the line reader's and the columnar path's tests build their logs from it, so they
read the same bytes."""

from __future__ import annotations


def csv_line(message: str, user: str = "maint01", conn: str = "10.0.0.5:51234",
             ts: str = "2024-01-05 10:00:00.123 JST", session: str = "65a.1",
             vxid: str = "3/1", severity: str = "LOG") -> str:
    msg = '"' + message.replace('"', '""') + '"'
    return (f'{ts},"{user}","kintai",4242,"{conn}",{session},1,"SELECT",{ts},{vxid},0,{severity},00000,'
            f'{msg},,,,,,,,,"psql","client backend",,0\n')
