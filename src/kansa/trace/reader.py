"""Read a personal-data list as it really arrives: CSV/TSV/Excel, any Japanese encoding, any headers.

Leaked lists are exports, hand-edited spreadsheets and scraped files. We detect the encoding
(UTF-8 with or without BOM, CP932, EUC-JP), the delimiter and which column holds which field by
header words (氏名, フリガナ, 生年月日, 電話, 住所 ...), falling back to what the values look like
when a list has no header. Missing columns are normal: matching uses whatever fields exist.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

from kansa.model.errors import InputError
from kansa.trace.normalize import fold, norm_date, norm_phone

# Header words per canonical field, checked against the NFKC-folded, lower-cased header.
# Order matters: the kana field is tested before the name field (フリガナ contains no 名, but
# 氏名カナ does contain 氏名).
HEADER_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("kana", ("フリガナ", "ふりがな", "カナ", "かな", "読み", "よみ", "kana", "furigana", "reading")),
    ("dob", ("生年月日", "誕生日", "生年", "birth", "dob")),
    ("phone", ("電話", "tel", "phone", "携帯", "連絡先")),
    ("postcode", ("郵便", "〒", "zip", "postal", "postcode")),
    ("address", ("住所", "所在地", "address", "addr")),
    ("name", ("氏名", "名前", "お名前", "姓名", "name", "顧客名", "契約者名", "納税者名")),
]


@dataclass
class Table:
    """A list read into memory: header as found, rows as text, and which column is which field."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    columns: dict[str, int] = field(default_factory=dict)  # canonical field → column index
    encoding: str = "utf-8"
    first_data_line: int = 2  # 1-based line number of rows[0] in the file

    @property
    def canonical_fields(self) -> list[str]:
        """The comparable fields this list has (split name columns count as one)."""
        return sorted({k.split("_")[0] for k in self.columns if k != "id"})

    def fields(self, row: Sequence[str]) -> dict[str, object]:
        out: dict[str, object] = {k: (row[i] if i < len(row) else "") for k, i in self.columns.items()}
        for whole in ("name", "kana"):
            parts = [out.pop(f"{whole}_{p}", "") for p in ("family", "given")]
            if whole not in out and any(parts):
                out[whole] = "".join(str(p) for p in parts)
        return out


def decode(data: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Bytes → text with the named encoding, else UTF-8, else the best Japanese guess."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot decode as {encoding}: {exc}", path=str(path)) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    for enc in ("cp932", "euc_jp"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        # Both may "succeed" on the other's bytes; ask charset-normalizer to choose when they do.
        best = from_bytes(data, cp_isolation=["cp932", "euc_jp"]).best()
        if best is not None and best.encoding in ("cp932", "euc_jp", "shift_jis"):
            return str(best), best.encoding
        return text, enc
    best = from_bytes(data).best()
    if best is None:
        raise InputError("cannot detect the text encoding (not UTF-8, CP932 or EUC-JP)", path=str(path))
    return str(best), best.encoding


# Lists often split the name: 姓 / 名, セイ / メイ. Whole-header matches only (名 alone is too short
# to search for inside other headers).
SPLIT_HEADERS: dict[str, tuple[str, ...]] = {
    "name_family": ("姓", "氏", "苗字", "名字", "lastname", "familyname", "surname"),
    "name_given": ("名", "名前(名)", "firstname", "givenname"),
    "kana_family": ("セイ", "せい", "姓カナ", "姓(カナ)", "フリガナ(姓)", "姓フリガナ"),
    "kana_given": ("メイ", "めい", "名カナ", "名(カナ)", "フリガナ(名)", "名フリガナ"),
}


def guess_columns(header: Sequence[str]) -> dict[str, int]:
    """Canonical field → column index, from header words. Unknown headers are left out."""
    out: dict[str, int] = {}
    for i, raw in enumerate(header):
        h = fold(raw).lower().replace(" ", "")
        split = next((k for k, words in SPLIT_HEADERS.items() if h in (w.lower() for w in words)), None)
        if split is not None:
            out.setdefault(split, i)
            continue
        for fieldname, words in HEADER_WORDS:
            if fieldname in out:
                continue
            if any(w.lower() in h for w in words):
                out[fieldname] = i
                break
    return out


_KANA_RE = re.compile(r"^[\u30a0-\u30ff\u3040-\u309f\uff66-\uff9f\s\u3000]+$")
_KANJI_RE = re.compile(r"[\u4e00-\u9fff]")


def _looks(values: list[str]) -> dict[str, float]:
    n = max(1, len(values))
    return {
        "dob": sum(1 for v in values if norm_date(v)) / n,
        "phone": sum(1 for v in values if 10 <= len(norm_phone(v)) <= 11 and not norm_date(v)) / n,
        "kana": sum(1 for v in values if _KANA_RE.match(fold(v) or "x")) / n,
        "address": sum(1 for v in values if re.search(r"[都道府県市区町村]", v) and re.search(r"\d", fold(v))) / n,
        "name": sum(1 for v in values if _KANJI_RE.search(v) and 2 <= len(fold(v).replace(" ", "")) <= 8) / n,
    }


def guess_by_content(rows: list[list[str]], taken: dict[str, int]) -> dict[str, int]:
    """Fill fields the header did not name from what the values look like (≥ 80 % of a sample)."""
    out = dict(taken)
    sample = rows[:200]
    width = max((len(r) for r in sample), default=0)
    for i in range(width):
        if i in out.values():
            continue
        scores = _looks([r[i] for r in sample if i < len(r) and r[i].strip()])
        for fieldname in ("dob", "phone", "kana", "address", "name"):
            if fieldname not in out and scores[fieldname] >= 0.8:
                out[fieldname] = i
                break
    return out


def _read_excel(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise InputError(f"cannot read as Excel: {exc}", path=str(path)) from exc
    ws = wb.worksheets[0]
    rows: list[list[str]] = []
    for r in ws.iter_rows(values_only=True):
        rows.append(["" if v is None else (v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)) for v in r])
    wb.close()
    return rows


def read_table(path: Path, encoding: str | None = None, id_column: str | None = None) -> Table:
    """Read a CSV/TSV/Excel list and guess its columns. Raises InputError naming the file."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=str(path))
    enc = "xlsx"
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        all_rows = _read_excel(path)
    else:
        text, enc = decode(path.read_bytes(), path, encoding)
        first = text.split("\n", 1)[0]
        delim = "\t" if first.count("\t") > first.count(",") else ","
        try:
            all_rows = list(csv.reader(io.StringIO(text), delimiter=delim))
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", path=str(path)) from exc
    all_rows = [r for r in all_rows if any(c.strip() for c in r)]
    if not all_rows:
        raise InputError("the list is empty", path=str(path))
    header = all_rows[0]
    cols = guess_columns(header)
    has_header = bool(cols) or (id_column is not None and id_column in header)
    if has_header:
        body, first_line = all_rows[1:], 2
    else:
        header, body, first_line = [f"col{i + 1}" for i in range(len(all_rows[0]))], all_rows, 1
    cols = guess_by_content(body, cols)
    if id_column is not None:
        if id_column not in header:
            raise InputError(f"id column {id_column!r} not in header {header}", path=str(path))
        cols["id"] = header.index(id_column)
    if not any(k.split("_")[0] in ("name", "kana", "dob", "phone", "address") for k in cols):
        raise InputError("no personal-data column recognised (氏名, カナ, 生年月日, 電話, 住所)", path=str(path))
    return Table(path=path, header=list(header), rows=body, columns=cols, encoding=enc, first_data_line=first_line)
