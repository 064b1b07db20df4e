"""Read a personal-data list as it really arrives: CSV/TSV/Excel, any Japanese encoding, any headers.

Leaked lists are exports, hand-edited spreadsheets and scraped files. We detect the encoding
(UTF-8 with or without BOM, UTF-16 from Excel's "Unicode text", CP932, EUC-JP; a few broken bytes
are replaced and their lines reported), the delimiter, whether the first line is a header, and
which column holds which field: by header words (氏名, フリガナ, 生年月日, 電話, 住所, name, kana ...)
checked against what the values look like, because headers lie (a broker's "TEL" column that
holds birth dates). A column without a usable header is typed from its values alone. A single
"name + address" column is split. My Number and card-number columns are recognised and kept out
of everything downstream. The reader says what it understood (``Table.report()``): column → type
with confidence and source, encoding, rows, repaired and skipped lines.

Row numbering is stable: ``Table.rows[i]`` is data row i+1 whatever happened to it, so the per-row
results of trace can name leaked rows by number; ``Table.lines[i]`` is its line in the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import japanese_personal_name_dataset as jpnd
from charset_normalizer import from_bytes

from kansa.model.errors import InputError
from kansa.trace.addresses import check_postcode, may_start_place, parse_address, postcode_places
from kansa.trace.dates import looks_like_date
from kansa.trace.ids import is_card_number, is_my_number
from kansa.trace.kana import is_japanese_romaji, is_kana, norm_kana
from kansa.trace.kana_addresses import is_kana_address, kana_address_to_kanji
from kansa.trace.names import is_romaji
from kansa.trace.normalize import NORMALISERS, norm_date, norm_phone, norm_postcode, norm_sex
from kansa.trace.phones import looks_like_phone
from kansa.trace.text import NAME_SEPARATORS, fold

# Header words per field, checked against the NFKC-folded, lower-cased header without spaces.
# Order matters: kana before name (氏名カナ contains 氏名), email before address (メールアドレス),
# the sensitive numbers before phone (個人番号 and 電話番号 both end in 番号).
HEADER_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("kana", ("フリガナ", "ふりがな", "カナ", "かな", "読み", "よみ", "kana", "furigana", "reading")),
    ("dob", ("生年月日", "誕生日", "生年", "birth", "dob")),
    ("my_number", ("個人番号", "マイナンバー", "mynumber")),
    ("card", ("カード番号", "クレジット", "cardnumber", "cardno", "creditcard")),
    ("email", ("メール", "mail")),
    ("phone", ("電話", "tel", "phone", "携帯", "連絡先")),
    ("postcode", ("郵便", "〒", "zip", "postal", "postcode")),
    ("address", ("住所", "所在地", "address", "addr")),
    ("sex", ("性別", "男女", "sex", "gender")),
    ("name", ("氏名", "名前", "お名前", "姓名", "name", "顧客名", "契約者名", "納税者名", "宛名")),
    ("name_address", ("宛先", "送付先")),
]

# Lists often split the name: 姓 / 名, セイ / メイ. Whole-header matches only (名 alone is too short
# to search for inside other headers).
SPLIT_HEADERS: dict[str, tuple[str, ...]] = {
    "name_family": ("姓", "氏", "苗字", "名字", "lastname", "familyname", "surname"),
    "name_given": ("名", "名前(名)", "firstname", "givenname"),
    "kana_family": ("セイ", "せい", "姓カナ", "姓(カナ)", "フリガナ(姓)", "姓フリガナ"),
    "kana_given": ("メイ", "めい", "名カナ", "名(カナ)", "フリガナ(名)", "名フリガナ"),
}
SENSITIVE = ("my_number", "card")
"""Column types whose values kansa never passes on (they are not needed to attribute a list)."""

_KANJI_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_POSTCODE_RE = re.compile(r"^〒?\s*\d{3}-?\d{4}$")
_SEX_WORDS = {"男", "女", "男性", "女性", "M", "F", "MALE", "FEMALE"}
MIN_CONTENT = 0.8  # share of sampled values that must look like a type to call the column that
SAMPLE = 200


def _is_name(v: str) -> bool:
    s = fold(v).replace(" ", "").replace("\u3000", "")
    if is_romaji(v):
        return 2 <= len(fold(v).split()) <= 4
    return bool(_KANJI_RE.search(s)) and 2 <= len(s) <= 10 and not any(c.isdigit() for c in s) \
        and not parse_address(fold(v)).municipality


def _is_address(v: str) -> bool:
    if is_kana_address(v):  # ｵｵｻｶﾌｵｵｻｶｼ…1-2-3: an address only when a known place starts it
        return bool(re.search(r"\d", fold(v))) and kana_address_to_kanji(v) != v
    p = parse_address(fold(v))
    return bool(p.municipality) or (bool(re.search(r"[都道府県市区町村]", v)) and bool(re.search(r"\d", fold(v))))


def _is_postcode(v: str) -> bool:
    return bool(_POSTCODE_RE.match(fold(v))) and bool(postcode_places(v))


_AGE_AFTER_DATE = re.compile(r"[\s\u3000]*(?:[（(][^（()）]*[）)]|満?\d{1,3}\s*[歳才])[\s\u3000]*$")
"""An age written after a birth date: 1970/03/02（54歳）, 昭和45年3月2日 54才, (満54歳)."""


def _without_age(v: str) -> str:
    return _AGE_AFTER_DATE.sub("", v)


def split_name_address(value: str) -> tuple[str, str] | None:
    """'山田 太郎 大阪府大阪市…' → (name, address) when a name is followed by a known address."""
    s = fold(value)
    for i in range(2, min(len(s), 16)):
        head, tail = s[:i].strip(" \u3000,，、/／()（）"), s[i:].strip(" \u3000,，、/／()（）")
        if not tail or not head or not may_start_place(tail):
            continue
        if head[-1] in "都道府県市区町村郡" or parse_address(head).prefecture:
            continue  # the head is itself a place (大阪市 + 北区…), not a name
        p = parse_address(tail)
        if p.municipality and _is_name(head):
            return head, tail
    return None


CONTENT_TESTS: dict[str, Callable[[str], bool]] = {
    "my_number": is_my_number,
    "card": is_card_number,
    "dob": lambda v: looks_like_date(v) or looks_like_date(_without_age(v)),
    "postcode": _is_postcode,
    "phone": looks_like_phone,
    "kana": lambda v: is_kana(v) and len(fold(v)) >= 2,
    "sex": lambda v: fold(v).upper() in _SEX_WORDS,
    "email": lambda v: bool(re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", fold(v))),
    "name_address": lambda v: split_name_address(v) is not None,
    "address": _is_address,
    "name": _is_name,
}
"""Field → does this single value look like one. Order is the tie-break (most specific first)."""


def _plain_text(v: str) -> bool:
    s = fold(v)
    return bool(s) and not s.replace("-", "").isdigit() and not looks_like_date(s)


# When a header names the field, a lenient test decides whether the values contradict it: real
# lists hold short local numbers, long foreign names and half-typed addresses under the right header.
HEADER_TESTS: dict[str, Callable[[str], bool]] = {
    "name": _plain_text,
    "kana": lambda v: is_kana(v) or is_romaji(v),
    "dob": lambda v: bool(norm_date(v) or norm_date(_without_age(v))),
    "phone": lambda v: 8 <= len(norm_phone(v)) <= 13 and not re.search(r"[^\d\s()+\-‐－ー.]", fold(v)),
    "postcode": lambda v: bool(norm_postcode(v)),
    "address": lambda v: _plain_text(v) and len(fold(v)) >= 4,
    "sex": lambda v: bool(norm_sex(v)),
    "email": lambda v: "@" in v,
    "my_number": is_my_number,
    "card": is_card_number,
    "name_address": lambda v: split_name_address(v) is not None,
}


def _field_test(fieldname: str) -> Callable[[str], bool] | None:
    if fieldname.endswith(("_family", "_given")):
        return HEADER_TESTS["kana"] if fieldname.startswith("kana") else _plain_text
    return HEADER_TESTS.get(fieldname)


@dataclass
class Column:
    """What one column was understood to be."""

    index: int
    header: str
    type: str | None  # a field name, or None when nothing fits
    confidence: float
    source: str  # "header", "content", "header+content", "id option"
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "header": self.header, "type": self.type,
                "confidence": round(self.confidence, 2), "source": self.source, "note": self.note}


@dataclass
class Table:
    """A list read into memory: header as found, rows as text, and which column is which field."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    columns: dict[str, int] = field(default_factory=dict)  # field → column index (comparable fields, id)
    encoding: str = "utf-8"
    first_data_line: int = 2  # 1-based line number of rows[0] in the file
    lines: list[int] = field(default_factory=list)  # file line (or sheet row) of each data row
    described: list[Column] = field(default_factory=list)
    sensitive: dict[int, str] = field(default_factory=dict)  # column index → my_number / card
    skipped: dict[int, str] = field(default_factory=dict)  # data row index → why it yields nothing
    repaired: dict[int, str] = field(default_factory=dict)  # data row index → what was done
    damaged_lines: list[int] = field(default_factory=list)  # lines with undecodable bytes
    delimiter: str = ","
    has_header: bool = True
    file_format: str = "csv"
    empty_lines: int = 0
    preamble_lines: list[int] = field(default_factory=list)  # title lines above the header
    sheets: list[str] = field(default_factory=list)  # Excel: the sheets read, in order (rows are per sheet)
    address_parts: list[int] = field(default_factory=list)  # columns joined into the address, in order
    romaji_given_first: bool = False  # the reading is romaji written given name first (Taro Yamada)
    honorific: bool = False  # the names carry a title (山田 太郎 様): cut off before comparing
    reading_in_name: bool = False  # the names carry their reading in brackets: 山田 太郎（ヤマダ タロウ）
    age_after_date: bool = False  # birth dates followed by the age: 1970/03/02（54歳）

    @property
    def canonical_fields(self) -> list[str]:
        """The compared fields this list has (split and combined columns count as their parts).

        Only ``NORMALISERS`` keys: linkage builds one comparison per field listed here. ``sex`` is
        read (``fields`` returns it) but is not a linkage field.
        """
        out: set[str] = set()
        for k in self.columns:
            if k == "name_address":
                out.update(("name", "address"))
            elif k.split("_")[0] in NORMALISERS:
                out.add(k.split("_")[0] if k.endswith(("_family", "_given")) else k)
        if self.reading_in_name:
            out.add("kana")
        return sorted(out)

    def line_of(self, row_index: int) -> int:
        """The file line (1-based) of data row ``row_index`` (0-based)."""
        return self.lines[row_index] if row_index < len(self.lines) else self.first_data_line + row_index

    def fields(self, row: Sequence[str]) -> dict[str, object]:
        """Field → raw value for one data row (never a sensitive number)."""
        out: dict[str, object] = {k: (row[i] if i < len(row) else "") for k, i in self.columns.items()}
        if self.address_parts:
            out["address"] = " ".join(row[i].strip() for i in self.address_parts if i < len(row) and row[i].strip())
        combined = out.pop("name_address", None)
        if combined:
            parts = split_name_address(str(combined))
            if parts is not None:
                out.setdefault("name", parts[0])
                out.setdefault("address", parts[1])
        for whole in ("name", "kana"):
            halves = [out.pop(f"{whole}_{p}", "") for p in ("family", "given")]
            if whole not in out and any(halves):
                out[whole] = "".join(str(p) for p in halves)
                if whole == "name" and str(halves[0]).strip():
                    out["family"] = halves[0]  # the list says which part is the family name
        address = out.get("address")
        if address and is_kana_address(address):
            out["address"] = kana_address_to_kanji(address)
        if self.age_after_date and out.get("dob"):
            out["dob"] = _without_age(str(out["dob"]))
        if self.honorific and out.get("name"):
            out["name"] = _HONORIFIC.sub("", str(out["name"]))
        if self.reading_in_name and out.get("name"):
            m = _NAME_READING.match(str(out["name"]))
            if m is not None and is_kana(m.group(2)):
                out["name"] = m.group(1)
                out.setdefault("kana", m.group(2))
        if self.romaji_given_first and is_romaji(out.get("kana", "")):
            out["kana"] = " ".join(reversed([p for p in NAME_SEPARATORS.split(fold(out["kana"])) if p]))
        return out

    def records(self) -> list[dict[str, object]]:
        """``fields`` of every data row; rows that could not be read give {}."""
        return [{} if i in self.skipped else self.fields(r) for i, r in enumerate(self.rows)]

    def report(self) -> dict[str, Any]:
        """What was understood, for people and for --json (no values from the list)."""
        return {
            "file": str(self.path),
            "format": self.file_format,
            "encoding": self.encoding,
            "delimiter": {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(self.delimiter, self.delimiter),
            "header": self.has_header,
            "rows": len(self.rows),
            "fields": self.canonical_fields,
            "columns": [c.as_dict() for c in self.described],
            "sensitive_columns": [{"index": i, "type": t} for i, t in sorted(self.sensitive.items())],
            "skipped_lines": [{"line": self.line_of(i), "reason": r} for i, r in sorted(self.skipped.items())],
            "repaired_lines": [{"line": self.line_of(i), "repair": r} for i, r in sorted(self.repaired.items())],
            "damaged_lines": self.damaged_lines,
            "empty_lines": self.empty_lines,
            "preamble_lines": self.preamble_lines,
            "sheets": self.sheets,
            "address_parts": self.address_parts,
            "postcode_check": self.postcode_check(),
        }

    def postcode_check(self, limit: int = 1000) -> dict[str, Any] | None:
        """Do postcodes and addresses agree (Japan Post's table)? On the first ``limit`` rows; a list
        mixed from several sources or re-typed by hand shows up here. None without both columns."""
        if "postcode" not in self.columns or not ({"address", "name_address"} & set(self.columns)):
            return None
        checked, disagree = 0, []
        for i, rec in enumerate(self.records()[:limit]):
            verdict = check_postcode(rec.get("postcode", ""), rec.get("address", ""))
            if verdict is None:
                continue
            checked += 1
            if not verdict:
                disagree.append(self.line_of(i))
        return {"checked": checked, "agree": checked - len(disagree), "disagree_lines": disagree[:100]}


def decode(data: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Bytes → text with the named encoding, else UTF-8/UTF-16 by BOM, else the best Japanese guess.

    A file that no encoding decodes cleanly is decoded with the one that leaves the fewest broken
    characters (U+FFFD); the caller reports those lines.
    """
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot decode as {encoding}: {exc}", path=str(path)) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    clean = []
    for enc in ("cp932", "euc_jp"):
        try:
            clean.append((data.decode(enc), enc))
        except UnicodeDecodeError:
            continue
    if len(clean) == 1:
        return clean[0]
    if clean:
        # Both may "succeed" on the other's bytes; ask charset-normalizer to choose when they do.
        best = from_bytes(data, cp_isolation=["cp932", "euc_jp"]).best()
        if best is not None and best.encoding in ("cp932", "euc_jp", "shift_jis"):
            return str(best), best.encoding
        return clean[0]
    damaged = min(
        ((data.decode(enc, errors="replace"), enc) for enc in ("utf-8", "cp932", "euc_jp")),
        key=lambda te: te[0].count("\ufffd"),
    )
    if damaged[0].count("\ufffd") > max(10, len(damaged[0]) // 100):
        raise InputError("cannot detect the text encoding (not UTF-8, UTF-16, CP932 or EUC-JP)", path=str(path))
    return damaged


def _header_key(raw: str) -> str:
    return fold(raw).lower().replace(" ", "").replace("_", "").replace("-", "")


def guess_columns(header: Sequence[str]) -> dict[str, int]:
    """Field → column index, from header words. Unknown headers are left out."""
    out: dict[str, int] = {}
    for i, raw in enumerate(header):
        h = _header_key(raw)
        if not h:
            continue
        split = next((k for k, words in SPLIT_HEADERS.items() if h in (w.lower() for w in words)), None)
        if split is not None:
            out.setdefault(split, i)
            continue
        for fieldname, words in HEADER_WORDS:
            if any(w.lower() in h for w in words):
                out.setdefault(fieldname, i)
                break
    return out


def content_scores(values: list[str]) -> dict[str, float]:
    """Field → share of the (non-empty) values that look like it."""
    n = len(values)
    if not n:
        return {}
    return {f: sum(1 for v in values if test(v)) / n for f, test in CONTENT_TESTS.items()}


def _best(scores: dict[str, float], taken: set[str]) -> tuple[str | None, float]:
    best: tuple[str | None, float] = (None, 0.0)
    for f in CONTENT_TESTS:  # order = specificity
        s = scores.get(f, 0.0)
        if f not in taken and s >= MIN_CONTENT and s > best[1] + 0.05:
            best = (f, s)
    return best


def guess_by_content(rows: list[list[str]], taken: dict[str, int]) -> dict[str, int]:
    """Fill fields the header did not name from what the values look like (≥ 80 % of a sample)."""
    out = dict(taken)
    sample = rows[:SAMPLE]
    width = max((len(r) for r in sample), default=0)
    for i in range(width):
        if i in out.values():
            continue
        f, _s = _best(content_scores(_column(sample, i)), set(out))
        if f is not None:
            out[f] = i
    return out


def _column(rows: list[list[str]], i: int) -> list[str]:
    return [r[i] for r in rows if i < len(r) and r[i].strip()]


def describe_columns(header: list[str], rows: list[list[str]], has_header: bool) -> list[Column]:
    """Type every column from its header word and its values; values win when the header lies.

    Columns a header names (and whose values do not contradict it) are typed first, the others
    by their values afterwards: a list merged with another source has columns that merely look
    like a field (an order date left of 生年月日, a product name left of 氏名), and they must not
    take the field from the column named for it.
    """
    named = guess_columns(header) if has_header else {}
    by_index = {i: f for f, i in named.items()}
    sample = rows[:SAMPLE]
    width = max([len(header), *(len(r) for r in sample)])
    heads = [header[i] if i < len(header) else "" for i in range(width)]
    values = [_column(sample, i) for i in range(width)]
    scores = [content_scores(v) for v in values]
    found: dict[int, Column] = {}
    taken: set[str] = set()
    for i, h in sorted(by_index.items()):
        if not values[i]:
            found[i] = Column(i, heads[i], None, 0.0, "header", f"empty column (header says {h})")
            continue
        if h in ("name", "address") and "name_address" not in taken \
                and scores[i].get("name_address", 0.0) >= MIN_CONTENT:
            # 宛名 / 住所 over "山田 太郎 大阪府…": the header names one part of what the values hold
            found[i] = Column(i, heads[i], "name_address", scores[i]["name_address"], "header+content",
                              f"header says {h}; values hold name and address")
            taken.add("name_address")
            continue
        test = _field_test(h)
        h_score = sum(1 for v in values[i] if test(v)) / len(values[i]) if test else 0.0
        if h not in taken and h_score >= 0.5:
            found[i] = Column(i, heads[i], h, min(1.0, 0.5 + h_score / 2), "header+content")
            taken.add(h)
    for i in range(width):
        if i in found:
            continue
        said = by_index.get(i)
        c, c_score = _best(scores[i], taken)
        if c is not None:
            lied = f"header says {said} but {c_score:.0%} of values look like {c}" if said and said != c else ""
            found[i] = Column(i, heads[i], c, c_score, "content", lied)
            taken.add(c)
        elif said:
            found[i] = Column(i, heads[i], None, 0.0, "header",
                              f"header says {said} but the values do not look like it")
        else:
            found[i] = Column(i, heads[i], None, 0.0, "content" if values[i] else "header",
                              "" if values[i] else "empty column")
    return [found[i] for i in range(width)]


def _looks_like_data_row(row: Sequence[str]) -> bool:
    """A header never holds a date, phone number, postcode or ID number."""
    return any(looks_like_date(c) or looks_like_phone(c) or _is_postcode(c) or is_my_number(c) for c in row)


def _excel_cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    iso = getattr(v, "isoformat", None)
    if iso is not None:
        text = str(iso())
        return text[:10] if len(text) >= 10 and text[4] == "-" else text
    return str(v)


def _read_excel(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Every sheet that holds something, in workbook order: (title, rows as text)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise InputError(f"cannot read as Excel: {exc}", path=str(path)) from exc
    out = []
    try:
        for sheet in wb.worksheets:
            rows = [[_excel_cell(v) for v in r] for r in sheet.iter_rows(values_only=True)]
            if any(any(c.strip() for c in r) for r in rows):
                out.append((str(sheet.title), rows))
    finally:
        wb.close()
    return out


def _nonempty(numbered: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    # a row is empty when no cell holds anything but white space: one strip of the joined cells
    return [(n, r) for n, r in numbered if "".join(r).strip()]


def _continued_sheets(
    sheets: list[tuple[str, list[tuple[int, list[str]]]]], main: int, header: list[str] | None,
    body: list[tuple[int, list[str]]], id_column: str | None,
) -> tuple[list[tuple[int, list[str]]], list[str]]:
    """A workbook often splits one list over several sheets (名簿1, 名簿2, each with its title and
    header) beside a cover or a summary sheet. The sheet with the most rows is the list; another
    sheet continues it when its header names the same fields (or, for a list without a header,
    when it has none either and as many columns). Rows keep workbook order."""
    want = guess_columns(header) if header is not None else None
    width = max(len(r) for _n, r in body[:SAMPLE]) if body else 0
    rows: list[tuple[int, list[str]]] = []
    used: list[str] = []
    for k, (title, numbered) in enumerate(sheets):
        if k == main:
            rows += body
            used.append(title)
            continue
        kept = _nonempty(numbered)
        if not kept:
            continue
        at = _header_row(kept, id_column)
        if want is not None and at is not None and guess_columns(kept[at][1]) == want:
            rows += kept[at + 1:]
            used.append(title)
        elif want is None and at is None and max(len(r) for _n, r in kept[:SAMPLE]) == width:
            rows += kept
            used.append(title)
    return rows, used


def _delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    best, best_score = ",", -1.0
    for d in (",", "\t", ";", "|"):
        counts = [ln.count(d) for ln in lines]
        if not counts or max(counts) == 0:
            continue
        # the delimiter occurs in most lines, about equally often
        common = max(set(counts), key=counts.count)
        score = counts.count(common) / len(counts) * min(common, 10)
        if score > best_score:
            best, best_score = d, score
    return best


def _repair(row: list[str], width: int, types: list[str | None]) -> tuple[list[str], str] | None:
    """A row with more cells than the header: an unquoted comma inside a value. Merge the run of
    cells whose merge makes the most cells look like their column's type."""
    extra = len(row) - width
    best: tuple[int, list[str], int] | None = None
    for j in range(width):
        merged = [*row[:j], ",".join(row[j:j + extra + 1]), *row[j + extra + 1:]]
        score = 0
        for k, t in enumerate(types):
            test = _field_test(t) if t else None
            if test and merged[k].strip() and test(merged[k]):
                score += 1
        if best is None or score > best[0]:
            best = (score, merged, j)
    if best is None or best[0] == 0:
        return None
    return best[1], f"{extra + 1} cells from column {best[2] + 1} joined (unquoted delimiter)"


_EXCEL_TEXT = re.compile(r'^="(.*)"$')


def _unexcel(cell: str) -> str:
    """Undo spreadsheet tricks that keep a number as text: ="0901234..." and a leading apostrophe."""
    if not cell or cell[0] not in "='":
        return cell
    m = _EXCEL_TEXT.match(cell)
    if m:
        return m.group(1)
    return cell[1:] if cell.startswith("'") and len(cell) > 1 and cell[1].isdigit() else cell


HEADER_SEARCH = 10  # spreadsheets put a title, a date or a blank line above the header


def _header_row(kept: list[tuple[int, list[str]]], id_column: str | None) -> int | None:
    """Index of the header among the first non-empty rows, or None when the list has none.

    A header names at least one field (two when it is not the first row, so that a title line
    mentioning 住所 is not taken for one) and holds no value that looks like data.
    """
    single_column = max(sum(1 for c in r if c.strip()) for _n, r in kept[:SAMPLE]) == 1
    for k, (_n, row) in enumerate(kept[:HEADER_SEARCH]):
        if id_column is not None and id_column in row:
            return k
        if _looks_like_data_row(row):
            continue  # data, or a title line with a date (作成日 2024/03/01)
        cells = sum(1 for c in row if c.strip())
        if cells < 2 and not single_column:
            continue  # a title such as 氏名一覧 sits alone on its line
        if len(guess_columns(row)) >= (1 if k == 0 else 2):
            return k
    return None


# Japanese forms split the address: 都道府県 / 市区町村 / 番地 / 建物名, or 住所1 / 住所2 / 住所3.
ADDRESS_PART_WORDS = ("都道府県", "市区町村", "市町村", "市区郡", "町名", "町域", "番地", "丁目", "建物", "ビル名",
                      "マンション", "アパート", "部屋番号", "号室", "addressline", "street", "building", "city")
_ADDRESS_NUMBERED = re.compile(r"^(?:住所|address|addr)\d$")


def _is_address_part(header: str) -> bool:
    key = _header_key(header)
    return bool(_ADDRESS_NUMBERED.match(key)) or any(w in key for w in ADDRESS_PART_WORDS)


def _join_address_parts(table: Table) -> None:
    """Columns whose headers name parts of an address become one address, in column order.

    Their values alone look like nothing (大阪府, 1丁目2番3号, ハイツ101) or like the wrong thing (a
    building name passes for a name), so the header decides; it takes two such columns, or one
    beside a column typed as the address, to call it a split address."""
    parts = [c for c in table.described
             if c.type == "address" or (_is_address_part(c.header) and (c.type is None or c.source == "content"))]
    if len(parts) < 2:
        return
    for c in parts:
        if c.type != "address":
            if c.type is not None and table.columns.get(c.type) == c.index:
                del table.columns[c.type]
            c.note = f"part of the address (header {c.header!r})" + (f"; values looked like {c.type}" if c.type else "")
            c.type, c.source = "address_part", "header"
    table.address_parts = [c.index for c in parts]
    table.columns["address"] = parts[0].index


@lru_cache(maxsize=1)
def _surname_readings() -> frozenset[str]:
    """Reading keys of the commonest Japanese surnames (japanese_personal_name_dataset: about
    2,000, which most people carry): what tells a family name from a given one in romaji."""
    return frozenset(norm_kana(e["reading"]) for e in jpnd.get_last_names(limit=100_000))


def _given_name_first(values: list[str]) -> bool:
    """Do these romanised names put the given name first (Taro Yamada)? Decided for the whole
    column, by how many values have a known surname last rather than first: one list keeps one
    order, while a single name can read either way (a given name that is also a surname)."""
    known = _surname_readings()
    votes = 0
    for v in values:
        parts = [p for p in NAME_SEPARATORS.split(fold(v)) if p]
        if len(parts) == 2:
            votes += (norm_kana(parts[1]) in known) - (norm_kana(parts[0]) in known)
    return votes > 0


def _romaji_names_as_reading(table: Table) -> None:
    """A name column written in romaji holds the name's reading, not its kanji: compared as the
    name, it would disagree with every indexed kanji name (evidence *against* the right person).
    So it becomes the reading, or is left out when the list has a reading column of its own; and
    the reading's romaji is put family name first, as the index's readings are."""
    name = table.columns.get("name")
    if name is not None:
        values = _column(table.rows[:SAMPLE], name)
        romaji = sum(1 for v in values if is_romaji(v) and is_japanese_romaji(fold(v)))
        if values and romaji / len(values) >= MIN_CONTENT:
            col = table.described[name]
            del table.columns["name"]
            if "kana" in table.columns:
                col.type, col.note = None, "romaji name: the list's reading column is compared instead"
            else:
                table.columns["kana"] = name
                col.type, col.note = "kana", "romaji name: compared as the reading"
    kana = table.columns.get("kana")
    if kana is not None:
        values = [v for v in _column(table.rows[:SAMPLE], kana) if is_romaji(v)]
        if values and _given_name_first(values):
            table.romaji_given_first = True
            col = table.described[kana]
            col.note = "; ".join(n for n in (col.note, "romaji given name first: read family name first") if n)


_NAME_READING = re.compile(r"^(.+?)[\s\u3000]*[（(]([^（()）]+)[）)][\s\u3000]*$")


def _readings_in_names(table: Table) -> None:
    """Hand-made lists write the reading after the name in brackets, 山田 太郎（ヤマダ タロウ): one
    cell, two fields. Compared whole, the name would never agree; split, the list also gains the
    reading when it has no reading column (a reading column of its own is kept)."""
    col = table.columns.get("name")
    if col is None:
        return
    values = _column(table.rows[:SAMPLE], col)
    split = sum(1 for v in values
                if (m := _NAME_READING.match(_HONORIFIC.sub("", v))) is not None and is_kana(m.group(2)))
    if values and split / len(values) >= 0.5:
        table.reading_in_name = True
        c = table.described[col]
        c.note = "; ".join(n for n in (c.note, "reading in brackets after the name: read as the reading") if n)


def _ages_after_dates(table: Table) -> None:
    """A list that adds the age to the birth date (1970/03/02（54歳）) has it cut off; the age
    alone is a weaker, changing fact and the date already says it."""
    col = table.columns.get("dob")
    if col is None:
        return
    values = _column(table.rows[:SAMPLE], col)
    aged = sum(1 for v in values if _AGE_AFTER_DATE.search(v) and not norm_date(v))
    if values and aged / len(values) >= 0.5:
        table.age_after_date = True
        c = table.described[col]
        c.note = "; ".join(n for n in (c.note, "age after the date cut off") if n)


_HONORIFIC = re.compile(r"[\s\u3000]*(?:様|殿|さま|サマ|ｻﾏ|御中)[\s\u3000]*$")


def _honorifics(table: Table) -> None:
    """An address-label list writes 山田 太郎 様: the title is no part of the name (compared with
    it, no name would ever agree). Cut off when most of the column's names carry one — a list
    does so on every line — so that a name merely ending in such a character is never cut alone."""
    col = table.columns.get("name")
    if col is None:
        return
    values = _column(table.rows[:SAMPLE], col)
    titled = sum(1 for v in values if _HONORIFIC.search(v))
    if values and titled / len(values) >= 0.5:
        table.honorific = True
        c = table.described[col]
        c.note = "; ".join(n for n in (c.note, "titles (様, 殿) cut off the names") if n)


def _note_kana_addresses(table: Table) -> None:
    """Say so when the address column is written in katakana (its place part is read back in
    kanji row by row, ``Table.fields``)."""
    col = table.columns.get("address")
    if col is None or table.address_parts:
        return
    values = _column(table.rows[:SAMPLE], col)
    kana = sum(1 for v in values if is_kana_address(v))
    if kana:
        c = table.described[col]
        c.note = "; ".join(n for n in (c.note, f"{kana / len(values):.0%} in katakana: place read back in kanji") if n)


_TOTALS_RE = re.compile(r"^(?:合計|総計|小計|件数|総件数|以上|計$|total|sum\b|grand total)")


def _is_totals(row: Sequence[str]) -> bool:
    """A spreadsheet's closing line (合計 200件, Total: 200): a label first, a count or two after.
    No name or reading starts with these words; the line carries no person."""
    cells = [c.strip() for c in row if c.strip()]
    return bool(cells) and len(cells) <= 3 and bool(_TOTALS_RE.match(fold(cells[0]).lower()))


def read_table(path: Path, encoding: str | None = None, id_column: str | None = None) -> Table:
    """Read a CSV/TSV/Excel list and work out its columns. Raises InputError naming the file."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=str(path))
    suffix = path.suffix.lower()
    damaged: list[int] = []
    delim = ","
    numbered: list[tuple[int, list[str]]]
    sheets: list[tuple[str, list[tuple[int, list[str]]]]] = []
    main = 0
    if suffix in (".xlsx", ".xlsm"):
        sheets = [(title, [(i + 1, [_unexcel(c) for c in r]) for i, r in enumerate(rows)])
                  for title, rows in _read_excel(path)]
        main = max(range(len(sheets)), key=lambda k: len(_nonempty(sheets[k][1]))) if sheets else 0
        fmt, text = "xlsx", ""
        enc = f"xlsx:{sheets[main][0]}" if sheets else "xlsx"
        numbered = sheets[main][1] if sheets else []
    elif suffix == ".xls":
        raise InputError("old Excel (.xls) format: save it as .xlsx or CSV first", path=str(path))
    else:
        text, enc = decode(path.read_bytes(), path, encoding)
        text = text.removeprefix("\ufeff").replace("\x00", "")  # a BOM even when the encoding was named
        delim = _delimiter(text)
        fmt = "tsv" if delim == "\t" else "csv"
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        numbered = []
        broken = "\ufffd" in text
        try:
            start = 1
            for r in reader:
                numbered.append((start, r))
                if broken and any("\ufffd" in c for c in r):
                    damaged.append(start)
                start = reader.line_num + 1
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", path=str(path), line=reader.line_num) from exc
    if fmt != "xlsx" and ('="' in text or "'" in text):
        numbered = [(n, [_unexcel(c) for c in r]) for n, r in numbered]
    kept = _nonempty(numbered)
    empty = len(numbered) - len(kept)
    if not kept:
        raise InputError("the list is empty", path=str(path))
    at = _header_row(kept, id_column)
    preamble = kept[:at] if at is not None else []
    if at is not None:
        header, body = list(kept[at][1]), kept[at + 1:]
    else:
        header, body = [f"col{i + 1}" for i in range(max(len(r) for _n, r in kept[:SAMPLE]))], kept
    has_header = at is not None
    used_sheets = [sheets[main][0]] if sheets else []
    if len(sheets) > 1:
        body, used_sheets = _continued_sheets(sheets, main, header if has_header else None, body, id_column)
        enc = "xlsx:" + "+".join(used_sheets)
    rows = [r for _n, r in body]
    described = describe_columns(header, rows, has_header)
    table = Table(path=path, header=header, rows=rows, encoding=enc,
                  first_data_line=body[0][0] if body else len(numbered) + 1, lines=[n for n, _r in body],
                  described=described, damaged_lines=damaged, delimiter=delim, has_header=has_header,
                  file_format=fmt, empty_lines=empty, preamble_lines=[n for n, _r in preamble],
                  sheets=used_sheets)
    for c in described:
        if c.type in SENSITIVE:
            table.sensitive[c.index] = c.type
        elif c.type is not None and c.type != "email":
            table.columns.setdefault(c.type, c.index)
    if has_header:
        _join_address_parts(table)
    _romaji_names_as_reading(table)
    _note_kana_addresses(table)
    _readings_in_names(table)
    _ages_after_dates(table)
    _honorifics(table)
    if id_column is not None:
        if id_column not in header:
            raise InputError(f"id column {id_column!r} not in header {header}", path=str(path))
        idx = header.index(id_column)
        table.columns = {k: v for k, v in table.columns.items() if v != idx}
        table.columns["id"] = idx
        table.described[idx] = Column(idx, id_column, "id", 1.0, "id option")
    if not any(f in table.canonical_fields for f in ("name", "kana", "dob", "phone", "address")):
        raise InputError("no personal-data column recognised (氏名, カナ, 生年月日, 電話, 住所)", path=str(path))
    width = len(header)
    types = [c.type for c in described[:width]]
    header_key = [c.strip() for c in header]
    for i, r in enumerate(rows):
        cells = [c.strip() for c in r]  # once per row: the three checks below all read it
        if has_header and cells == header_key:
            table.skipped[i] = "header repeated (a page break of a printed or merged list)"
        elif len(cells) - cells.count("") <= 3 and _is_totals(cells):  # a totals line has 1-3 cells
            table.skipped[i] = "totals line"
        elif len(r) > width and has_header and any(cells[width:]):
            fixed = _repair(r, width, types)
            if fixed is None:
                table.skipped[i] = f"{len(r)} cells for {width} columns"
            else:
                rows[i], table.repaired[i] = fixed
    return table


def read_list(path: Path, encoding: str | None = None) -> dict[str, Any]:
    """What kansa understands of a list, without keeping or returning any of its values."""
    return read_table(Path(path), encoding=encoding).report()
