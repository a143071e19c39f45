"""Read an uploaded or local table into a DataFrame, saying what was done to it.

The fast path hands plain UTF-8 CSV to pyarrow's multi-threaded reader. The
hard cases (other encodings, decimal commas, Zeek logs, footers) are decoded
or rewritten in memory first, then read by the same reader or, for decimal
commas, by pandas' C engine.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import logging
import lzma
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import DatasetError
from .schemas import EPOCH_SECONDS, detect_schema, headerless_names

logger = logging.getLogger(__name__)

#: Largest file accepted, in MiB (after decompression for compressed files).
MAX_UPLOAD_MB = 500

_SNIFF_BYTES = 1 << 20
# Non-ASCII bytes needed before trusting a guess other than cp1252.
_MIN_EVIDENCE = 16
_CHUNK = 1 << 24
# pyarrow parses blocks in parallel; 16 MiB blocks measured slower than 1-4 MiB.
_BLOCK = 1 << 22
# A space is tried last and wins only when no other delimiter fits (AWS VPC logs).
_DELIMITERS = (",", ";", "\t", "|", " ")
# Cells pyarrow and pandas both treat as missing; "-" is deliberately absent:
# in text columns it is a category of its own (UNSW-NB15 service).
_NULL_TOKENS = [
    "", "#N/A", "#N/A N/A", "#NA", "N/A", "NA", "NULL", "NaN", "n/a", "nan",
    "null", "None", "none", "-NaN", "-nan",
]  # fmt: skip
# A text column is read as numbers when at least this share of its filled
# cells are numbers; the rest become missing cells and are reported.
_NUMERIC_SHARE = 0.8
_NUMBER = re.compile(
    r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|infinity|nan)", re.I
)
# A cell pyarrow reads as a float64 without help (no spaces, dot decimal).
_FLOAT_CELL = re.compile(
    r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|Infinity)|NaN|"
)
# Cells that can become numbers: plain, hexadecimal (0x..) or with ',' thousands.
_NUMERIC_TOKEN = re.compile(
    r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|infinity|nan)"
    r"|0[xX][0-9a-fA-F]+|[-+]?\d{1,3}(,\d{3})+(\.\d+)?",
    re.I,
)
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_EXPONENT = r"([eE][-+]?\d+)?"
_DECIMAL_COMMA = re.compile(
    rf"[-+]?\d+,\d+{_EXPONENT}|[-+]?\d{{1,3}}(\.\d{{3}})+(,\d+)?"
)
_THOUSANDS_DOT = re.compile(r"[-+]?\d{1,3}(\.\d{3})+(,\d+)?")
_THOUSANDS_COMMA = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")
_DECIMAL_DOT = re.compile(rf"[-+]?\d*\.\d+{_EXPONENT}")
_SLASH_DATE = re.compile(
    r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})( \d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[AP]M)?)?"
)
_DATE_HINT = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")

_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls) or another "
     "Office file", "open it in Excel and save it as CSV (File > Save As > CSV UTF-8)"),
    (b"%PDF", "a PDF document", "export the table from its source as CSV"),
    (b"\x89PNG", "a PNG image", "upload the data table as CSV instead"),
    (b"\xff\xd8\xff", "a JPEG image", "upload the data table as CSV instead"),
    (b"\xd4\xc3\xb2\xa1", "a pcap packet capture", "turn packets into flows first "
     "(for example with Zeek or CICFlowMeter) and upload the flow CSV or conn.log"),
    (b"\xa1\xb2\xc3\xd4", "a pcap packet capture", "turn packets into flows first "
     "(for example with Zeek or CICFlowMeter) and upload the flow CSV or conn.log"),
    (b"\x0a\x0d\x0d\x0a", "a pcapng packet capture", "turn packets into flows first "
     "(for example with Zeek or CICFlowMeter) and upload the flow CSV or conn.log"),
    (b"SQLite format 3", "an SQLite database", "export the table as CSV"),
)  # fmt: skip


@dataclass
class Table:
    """A table as read from a file.

    Attributes
    ----------
    frame : pandas.DataFrame
        Every column of the file under a unique name, rows in file order.
    name : str
        The file name used in messages.
    notes : list of str
        Sentences saying what reading did (encoding, delimiter, renames ...).
    schema : str or None
        The known layout detected (see :data:`datasets.schemas.SCHEMA_ROLES`).
    """

    frame: pd.DataFrame
    name: str
    notes: list[str] = field(default_factory=list)
    schema: str | None = None


@dataclass
class _Layout:
    """What sniffing found out about a delimited text file."""

    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    names: list[str] | None = None
    header: bool = True
    schema: str | None = None
    footer: list[str] = field(default_factory=list)
    float_columns: list[int] = field(default_factory=list)


def load_table(source: Any, name: str | None = None) -> Table:
    """Read a CSV, TSV, Zeek log or Parquet file into a :class:`Table`.

    Parameters
    ----------
    source : str, Path, bytes or binary file-like
        A path, the file's bytes, or an upload object with ``getvalue()``
        or ``read()`` (a Streamlit ``UploadedFile`` works).
    name : str, optional
        The file name used in messages; taken from ``source`` when omitted.

    Returns
    -------
    Table
        The frame, the name, the reading notes and the detected schema.

    Raises
    ------
    DatasetError
        When the file is empty, too large, binary, Excel, badly encoded or
        has rows that do not match the header. The message names the file,
        the place and the fix.

    Examples
    --------
    >>> table = load_table(b"a;b\\n1,5;2\\n3,0;4\\n", name="demo.csv")
    >>> table.frame["a"].tolist()
    [1.5, 3.0]
    """
    name, path, data = _obtain(source, name)
    notes: list[str] = []
    head = data[:_SNIFF_BYTES] if data is not None else _read_head(path)
    if not head.strip():
        raise DatasetError(
            f"{name}: the file is empty; upload a file with a header row "
            "and at least one data row"
        )
    head, data = _decompress(name, head, data, path, notes)
    if not head.strip():
        raise DatasetError(
            f"{name}: the compressed file holds nothing; compress the CSV itself"
        )
    if head.startswith(b"PAR1"):
        return _finish(_read_parquet(name, data, path), name, notes, None)
    _refuse_binary(name, head)

    encoding = _detect_encoding(name, head, data, path)
    if encoding not in ("utf-8", "ascii"):
        if data is None:
            data = path.read_bytes()
        data = _transcode(name, data, encoding)
        head = data[:_SNIFF_BYTES]
        notes.append(
            f"Decoded the file as {_ENCODING_TITLES.get(encoding, encoding)} "
            "and converted it to UTF-8."
        )
    elif head.startswith(codecs.BOM_UTF8):
        if data is None:
            data = path.read_bytes()
        data = data[len(codecs.BOM_UTF8) :]
        head = data[:_SNIFF_BYTES]
        notes.append("Removed the UTF-8 byte-order mark (BOM) at the start.")

    text_head = head.decode("utf-8", errors="replace")
    if text_head.startswith("#separator") or "\n#fields\t" in text_head[:4096]:
        data = data if data is not None else path.read_bytes()
        frame, schema = _read_zeek(name, data, notes)
        return _finish(frame, name, notes, schema)

    if text_head.lstrip()[:1] in ("{", "["):
        data = data if data is not None else path.read_bytes()
        return _finish(_read_json(name, data, notes), name, notes, None)
    if re.match(r"sep=.\r?\n", text_head):
        # Excel's hint line names the delimiter; it is not the header.
        data = data if data is not None else path.read_bytes()
        data = data[data.index(b"\n") + 1 :]
        text_head = text_head[text_head.index("\n") + 1 :]
        notes.append("Removed Excel's 'sep=' line at the top.")

    layout = _sniff(name, text_head)
    if layout.delimiter != "," and len(layout.names) > 1:
        notes.append(f"Columns are separated by {_DELIMITER_TITLES[layout.delimiter]}.")
    if layout.decimal == ",":
        notes.append(
            "Numbers use a decimal comma"
            + (" and '.' as thousands separator." if layout.thousands else ".")
        )
    if not layout.header:
        notes.append(
            "The first row holds values, not column names, so the file has no header;"
            + (
                f" used the standard {layout.schema} column names."
                if layout.schema
                else " columns are named column_1, column_2, ..."
            )
        )
    data = _drop_footer(data, path, layout, notes)
    frame = _read_delimited(name, data, path, layout)
    table = _finish(frame, name, notes, layout.schema)
    if layout.footer:
        _check_footer(table.frame, layout, table.notes)
    return table


def _obtain(source: Any, name: str | None) -> tuple[str, Path | None, bytes | None]:
    """Return (name, path, bytes): a path is read lazily, uploads are in memory."""
    limit = MAX_UPLOAD_MB * 1024 * 1024
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise DatasetError(f"{name}: no such file ({path}); check the path")
        if not os.access(path, os.R_OK):
            raise DatasetError(
                f"{name}: the file cannot be read (permission denied); "
                "check its permissions"
            )
        size = path.stat().st_size
        data = None
    else:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        elif hasattr(source, "getvalue"):
            data = bytes(source.getvalue())
        elif hasattr(source, "read"):
            data = source.read()
            if isinstance(data, str):
                data = data.encode("utf-8")
        else:
            raise TypeError(
                f"load_table cannot read a {type(source).__name__}; "
                "pass a path, bytes or a binary file object"
            )
        name = name or getattr(source, "name", None) or "upload"
        name = Path(str(name)).name
        size, path = len(data), None
    if size > limit:
        raise DatasetError(
            f"{name}: the file is {size / 2**20:.0f} MB, above the {MAX_UPLOAD_MB} MB "
            "limit; upload a sample of the rows or fewer columns (or gzip it if "
            "the limit applies to the upload only)"
        )
    return name, path, data


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_SNIFF_BYTES)


def _decompress(name, head, data, path, notes):
    """Unpack gzip, bzip2 and xz files; refuse zip archives with a reason."""
    openers = {b"\x1f\x8b": gzip.decompress, b"BZh": bz2.decompress,
               b"\xfd7zXZ": lzma.decompress}  # fmt: skip
    for magic, opener in openers.items():
        if head.startswith(magic):
            raw = data if data is not None else path.read_bytes()
            try:
                data = opener(raw)
            except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                raise DatasetError(
                    f"{name}: the compressed file is damaged ({exc}); "
                    "compress it again or upload it uncompressed"
                ) from exc
            if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
                raise DatasetError(
                    f"{name}: the file unpacks to {len(data) / 2**20:.0f} MB, above "
                    f"the {MAX_UPLOAD_MB} MB limit; upload a sample of the rows"
                )
            notes.append(f"Decompressed the {opener.__module__} file.")
            return data[:_SNIFF_BYTES], data
    if head.startswith(b"PK\x03\x04"):
        raw = data if data is not None else path.read_bytes()
        try:
            members = zipfile.ZipFile(io.BytesIO(raw)).namelist()
        except zipfile.BadZipFile:
            members = []
        if any(m.startswith("xl/") for m in members):
            raise DatasetError(
                f"{name}: this is an Excel workbook, not CSV; save it as "
                "CSV (File > Save As > CSV UTF-8) and upload again"
            )
        if any(m.startswith(("word/", "ppt/")) for m in members):
            raise DatasetError(
                f"{name}: this is a Word or PowerPoint file, not a "
                "table; export the data as CSV and upload again"
            )
        raise DatasetError(
            f"{name}: this is a zip archive; unzip it and upload the "
            "CSV inside (or compress it with gzip: .csv.gz)"
        )
    return head, data


def _refuse_binary(name: str, head: bytes) -> None:
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            raise DatasetError(f"{name}: this is {what}, not a CSV; {fix}")
    if b"\x00" in head[:4096] and not _looks_utf16(head) and not _looks_utf32(head):
        offset = head.index(b"\x00")
        raise DatasetError(
            f"{name}: this is a binary file, not text (a zero byte at offset "
            f"{offset}); upload a CSV, TSV, Zeek log or Parquet file"
        )


def _looks_utf16(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    sample = head[:4096]
    # ASCII text in UTF-16 without a BOM has a zero in every other byte.
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return (
        len(sample) >= 4 and max(even, odd) > 0.4 * len(sample) / 2 > min(even, odd) * 4
    )


def _looks_utf32(head: bytes) -> bool:
    return head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE))


_ENCODING_TITLES = {
    "utf-16": "UTF-16", "utf-16-le": "UTF-16 (little-endian, no BOM)",
    "utf-16-be": "UTF-16 (big-endian, no BOM)", "utf-32": "UTF-32",
    "cp1252": "Windows-1252 (Western European)",
}  # fmt: skip
_DELIMITER_TITLES = {
    ",": "commas",
    ";": "semicolons",
    "\t": "tabs",
    "|": "pipes",
    " ": "spaces",
}


def _detect_encoding(
    name: str, head: bytes, data: bytes | None, path: Path | None
) -> str:
    """Name the text encoding; UTF-8 unless a BOM or invalid UTF-8 says otherwise."""
    if _looks_utf32(head):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _looks_utf16(head):
        return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    offset = _first_invalid_utf8(data, path)
    if offset is None:
        return "utf-8"
    sample = data if data is not None else _read_head(path)
    window = sample[max(0, offset - 100_000) : offset + 100_000]
    return _guess_codepage(name, window, offset, sample[offset : offset + 1])


def _first_invalid_utf8(data: bytes | None, path: Path | None) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None; streams paths."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    position = 0
    chunks = (
        (data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK))
        if data is not None
        else _file_chunks(path)
    )
    for chunk in chunks:
        if not chunk.isascii():
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return position + exc.start
        position += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return position + exc.start
    return None


def _guess_codepage(name: str, window: bytes, offset: int, byte: bytes) -> str:
    """Pick a Windows code page, preferring cp1252 (Excel's); never latin-1."""
    from charset_normalizer import from_bytes

    try:
        window.decode("cp1252")
        cp1252_ok = True
    except UnicodeDecodeError:
        cp1252_ok = False
    n_high = sum(b >= 0x80 for b in window)
    # A few accented bytes say nothing about the language: keep the default.
    if not (cp1252_ok and n_high < _MIN_EVIDENCE):
        matches = [
            m
            for m in from_bytes(window)
            if not m.encoding.startswith(("utf_16", "utf_32", "utf_7"))
        ]
        if matches:
            best = matches[0]
            near = [m for m in matches if m.chaos <= best.chaos + 0.01]
            if cp1252_ok and any("cp1252" in m.could_be_from_charset for m in near):
                return "cp1252"
            if best.encoding not in ("latin_1", "iso8859_1", "ascii", "utf_8"):
                return best.encoding.replace("_", "-")
    if cp1252_ok:
        return "cp1252"
    raise DatasetError(
        f"{name}: the file is not UTF-8 (byte 0x{byte.hex().upper()} at offset "
        f"{offset} cannot be decoded) and its encoding could not be recognised; "
        "re-save it as 'CSV UTF-8' and upload again"
    )


def _transcode(name: str, data: bytes, encoding: str) -> bytes:
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{name}: the file is neither UTF-8 nor {encoding} (byte "
            f"0x{data[exc.start : exc.start + 1].hex().upper()} at offset "
            f"{exc.start}); "
            "re-save it as 'CSV UTF-8' and upload again"
        ) from exc


def _records(text: str, delimiter: str, limit: int = 60) -> list[list[str]]:
    """The first complete records of ``text`` split by ``delimiter``."""
    # The head may end mid-record: keep whole lines only.
    cut = text.rfind("\n")
    text = text[: cut + 1] if cut > 0 else text
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


def _sniff(name: str, text: str) -> _Layout:
    """Find the delimiter, decimal mark, header and known layout of a text file."""
    layout = _Layout()
    suffix = name.lower().removesuffix(".gz")
    best = None
    for delimiter in _DELIMITERS:
        rows = _records(text, delimiter)
        counts = [len(r) for r in rows]
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        share = counts.count(modal) / len(counts)
        preferred = delimiter == "\t" and suffix.endswith((".tsv", ".tab", ".log"))
        # A real delimiter splits the header like the rows; a decimal comma in a
        # one-column file splits only the rows.
        fits = counts[0] == modal and modal > 1
        # Then a delimiter that splits the header at all beats one never seen.
        score = (
            fits,
            delimiter != " ",
            counts[0] > 1,
            share >= 0.9,
            preferred,
            share,
            modal,
        )
        if best is None or score > best[0]:
            best = (score, delimiter, rows)
    if best is None:
        raise DatasetError(
            f"{name}: no rows could be read; check that it is a CSV file"
        )
    _, layout.delimiter, rows = best
    if max(len(r) for r in rows) == 1:
        # One column: pick a delimiter absent from the text so that quoted
        # decimal commas ("0,5") stay numbers.
        unused = [d for d in (";", "\t", "|", ",") if d not in text]
        layout.delimiter = unused[0] if unused else layout.delimiter

    body = [cell.strip() for row in rows[1:] for cell in row]
    comma = sum(bool(_DECIMAL_COMMA.fullmatch(c)) for c in body)
    dot = sum(bool(_DECIMAL_DOT.fullmatch(c)) for c in body)
    if layout.delimiter != "," and comma > dot:
        layout.decimal = ","
        if any(_THOUSANDS_DOT.fullmatch(c) for c in body):
            layout.thousands = "."

    first = rows[0]
    numeric = [_is_number(c, layout.decimal) for c in first]
    duplicated = len(set(first)) < len(first)
    if (
        any(numeric)
        and (sum(numeric) >= len(first) / 2 or duplicated)
        and not (_counting_names(first))
    ):
        layout.header = False
        known = headerless_names(first)
        if known:
            layout.names, layout.schema = known
        else:
            layout.names = [f"column_{i + 1}" for i in range(len(first))]
    else:
        layout.names = first
    body_rows = rows[1:] if layout.header else rows
    n_cols = len(layout.names)
    layout.float_columns = [
        j
        for j in range(n_cols)
        if body_rows
        and all(len(r) == n_cols and _FLOAT_CELL.fullmatch(r[j]) for r in body_rows)
        and any("." in r[j] or "e" in r[j].lower() for r in body_rows)
    ]
    return layout


def _counting_names(first: list[str]) -> bool:
    """Whether the numbers in a first row count 0, 1, 2 ... (pandas' default names)."""
    numbers = [c.strip() for c in first if c.strip().isdigit()]
    if len(numbers) < 2:
        return False
    values = [int(c) for c in numbers]
    return values == list(range(values[0], values[0] + len(values))) and values[0] in (
        0,
        1,
    )


def _is_number(cell: str, decimal: str = ".") -> bool:
    cell = cell.strip()
    if decimal == ",":
        cell = cell.replace(".", "").replace(",", ".")
    return bool(_NUMBER.fullmatch(cell))


def _drop_footer(data, path, layout, notes):
    """Cut trailing summary lines (nfdump) whose field count differs from the header.

    Only a short block (at most 4 lines, no quotes) right after a row that does
    match the header counts; anything else is left for the ragged-row error.
    """
    if data is None:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read()
    else:
        tail = data[-4096:]
    lines = tail.rstrip(b"\r\n").split(b"\n")
    n_cols = len(layout.names)
    footer, closed = 0, False
    for line in reversed(lines[-5:]):
        fields = line.decode("utf-8", "replace").rstrip("\r").split(layout.delimiter)
        if b'"' in line:
            break
        if len(fields) == n_cols:
            closed = True
            break
        footer += 1
    if not footer or not closed:
        return data
    data = data if data is not None else path.read_bytes()
    body = data.rstrip(b"\r\n")
    for _ in range(footer):
        body = body[: body.rfind(b"\n")]
    if layout.header and b"\n" not in body:
        # What is left is the header alone: these are ragged rows, not a footer.
        return data
    dropped = data[len(body) :].strip().decode("utf-8", "replace").splitlines()
    notes.append(
        f"Dropped {footer} footer line(s) at the end that are not data rows "
        f"({' | '.join(line.strip() for line in dropped)[:120]})."
    )
    layout.footer = [line.strip() for line in dropped]
    return body + b"\n"


def _check_footer(frame: pd.DataFrame, layout: _Layout, notes: list[str]) -> None:
    """Compare an nfdump summary (flows, bytes, packets) with the rows read."""
    lines = [line for line in layout.footer if line and line.lower() != "summary"]
    if len(lines) != 2:
        return
    keys = lines[0].split(layout.delimiter)
    values = lines[1].split(layout.delimiter)
    summary = dict(zip(keys, values, strict=False))
    checks = [
        ("flows", len(frame)),
        ("bytes", _column_sum(frame, "ibyt")),
        ("packets", _column_sum(frame, "ipkt")),
    ]
    compared = [
        (key, summary[key], actual)
        for key, actual in checks
        if key in summary and actual is not None
    ]
    if not compared:
        return
    matches = all(str(actual) == claimed.strip() for _, claimed, actual in compared)
    detail = ", ".join(f"{key} {actual}" for key, _, actual in compared)
    if matches:
        notes.append(f"The footer's totals match the rows read ({detail}).")
    else:
        claimed = ", ".join(f"{key} {value}" for key, value, _ in compared)
        notes.append(
            f"The footer's totals ({claimed}) do not match the rows read "
            f"({detail}); the file may be cut short."
        )


def _column_sum(frame: pd.DataFrame, column: str) -> int | None:
    if column not in frame.columns or not pd.api.types.is_numeric_dtype(frame[column]):
        return None
    return int(frame[column].sum())


def _read_delimited(
    name: str, data: bytes | None, path: Path | None, layout: _Layout
) -> pd.DataFrame:
    """Read the body with pyarrow, or pandas' C engine for decimal commas."""
    names = [str(n) for n in layout.names]
    positional = [f"f{i}" for i in range(len(names))]
    if layout.decimal == ",":
        buffer = io.BytesIO(data) if data is not None else path
        try:
            frame = pd.read_csv(
                buffer,
                sep=layout.delimiter,
                decimal=",",
                thousands=layout.thousands,
                header=None,
                skiprows=1 if layout.header else 0,
                names=positional,
                na_values=_NULL_TOKENS,
                keep_default_na=False,
                engine="c",
                skip_blank_lines=True,
            )
        except (pd.errors.ParserError, ValueError) as exc:
            raise _ragged_error(name, data, path, layout, exc) from exc
    else:
        # Quoted newlines force a slower single-threaded parse: only when needed.
        # Quotes in the header alone (pyarrow's writer quotes names) do not count.
        start = _header_end(data if data is not None else _read_head(path))
        start = start if layout.header else 0
        has_quotes = (
            (data.find(b'"', start) >= 0)
            if data is not None
            else _file_contains(path, b'"', start)
        )
        read = pacsv.ReadOptions(
            column_names=positional,
            skip_rows=1 if layout.header else 0,
            block_size=_BLOCK,
        )
        parse = pacsv.ParseOptions(
            delimiter=layout.delimiter,
            quote_char='"',
            newlines_in_values=has_quotes,
            ignore_empty_lines=True,
        )
        # Declaring the columns that look like floats skips type inference
        # (about 30 % faster); if a later cell disagrees, read again untyped.
        typed = {positional[i]: pa.float64() for i in layout.float_columns}
        table = None
        for column_types in [typed, {}] if typed else [{}]:
            convert = pacsv.ConvertOptions(
                null_values=_NULL_TOKENS,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                column_types=column_types,
            )
            source = pa.BufferReader(data) if data is not None else str(path)
            try:
                table = pacsv.read_csv(
                    source,
                    read_options=read,
                    parse_options=parse,
                    convert_options=convert,
                )
                break
            except pa.ArrowInvalid as exc:
                if column_types and "conversion error" in str(exc).lower():
                    logger.debug("typed read failed (%s); reading untyped", exc)
                    continue
                raise _ragged_error(name, data, path, layout, exc) from exc
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
        del table
    frame.columns = names
    return frame


def _file_chunks(path: Path):
    """The file's bytes in chunks of 16 MiB, closing it at the end."""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _file_contains(path: Path, needle: bytes, start: int = 0) -> bool:
    with path.open("rb") as handle:
        handle.seek(start)
        while chunk := handle.read(_CHUNK):
            if needle in chunk:
                return True
    return False


def _header_end(head: bytes) -> int:
    """Offset just past the first record (quotes balanced at its newline)."""
    quotes, position = 0, 0
    while (newline := head.find(b"\n", position)) >= 0:
        quotes += head.count(b'"', position, newline)
        position = newline + 1
        if quotes % 2 == 0:
            return position
    return len(head)


def _ragged_error(name, data, path, layout, exc) -> DatasetError:
    """Find the first record whose field count differs from the header's."""
    text = (data if data is not None else path.read_bytes()).decode("utf-8", "replace")
    n_cols = len(layout.names)
    reader = csv.reader(io.StringIO(text), delimiter=layout.delimiter)
    try:
        for row in reader:
            if row and len(row) != n_cols:
                return DatasetError(
                    f"{name}: line {reader.line_num} has {len(row)} fields but the "
                    f"header has {n_cols}; fix the quoting or the number of "
                    f"'{layout.delimiter}' separators on that line"
                )
    except csv.Error as csv_exc:
        return DatasetError(
            f"{name}: line {reader.line_num} cannot be parsed ({csv_exc}); "
            "check its quotes"
        )
    return DatasetError(
        f"{name}: the file cannot be parsed as CSV ({exc}); "
        "check the delimiter and quotes"
    )


def _read_zeek(
    name: str, data: bytes, notes: list[str]
) -> tuple[pd.DataFrame, str | None]:
    """Read a Zeek TSV log: names from ``#fields``, '-' unset, '(empty)' empty set."""
    separator, unset, empty, names, types, path_name = (
        "\t",
        "-",
        "(empty)",
        None,
        None,
        None,
    )
    body_lines, n_meta = [], 0
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r").decode("utf-8", "replace")
        if line.startswith("#"):
            n_meta += 1
            key, _, value = line.partition(
                " " if line.startswith("#separator") else "\t"
            )
            if key == "#separator":
                separator = value.encode().decode("unicode_escape")
            elif key == "#unset_field":
                unset = value
            elif key == "#empty_field":
                empty = value
            elif key == "#fields":
                names = value.split(separator)
            elif key == "#types":
                types = value.split(separator)
            elif key == "#path":
                path_name = value
            continue
        if line:
            body_lines.append(raw)
    if not names:
        raise DatasetError(
            f"{name}: a Zeek log without a '#fields' line; export it "
            "again with its header lines (zeek-cut drops them)"
        )
    body = b"\n".join(body_lines) + b"\n"
    read = pacsv.ReadOptions(column_names=names, block_size=_BLOCK)
    parse = pacsv.ParseOptions(delimiter=separator, quote_char=False)
    convert = pacsv.ConvertOptions(
        null_values=[unset, empty, ""], strings_can_be_null=True
    )
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=read,
            parse_options=parse,
            convert_options=convert,
        )
    except pa.ArrowInvalid as exc:
        raise DatasetError(
            f"{name}: a Zeek log row does not match its #fields line "
            f"({exc}); check that the file was not edited"
        ) from exc
    frame = table.to_pandas()
    notes.append(
        f"Read a Zeek {path_name or ''} log: column names from '#fields', "
        f"{n_meta} '#' lines skipped, '{unset}' (unset) and '{empty}' (empty "
        "set) read as missing."
    )
    if types:
        for column, kind in zip(names, types, strict=False):
            if kind == "time" and pd.api.types.is_numeric_dtype(frame[column]):
                frame[column] = epoch_to_utc(frame[column])
    schema = detect_schema(names) or ("zeek-conn" if path_name == "conn" else None)
    return frame, schema


def epoch_to_utc(seconds: pd.Series) -> pd.Series:
    """Epoch seconds to UTC times, rounded to the microsecond logs are written in."""
    micros = np.round(seconds.to_numpy(dtype=np.float64, na_value=np.nan) * 1e6)
    times = pd.to_datetime(micros, unit="us", utc=True)
    return pd.Series(times, index=seconds.index, name=seconds.name)


def _read_json(name: str, data: bytes, notes: list[str]) -> pd.DataFrame:
    """JSON lines (Zeek's JSON logs) or a JSON array of records."""
    text = data.decode("utf-8", errors="replace")
    lines = text.lstrip().startswith("{")
    try:
        frame = pd.read_json(io.StringIO(text), lines=lines, orient="records")
    except ValueError as exc:
        raise DatasetError(
            f"{name}: JSON that is not one record per line or a list of records "
            f"({exc}); export the table as CSV or JSON lines"
        ) from exc
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise DatasetError(
            f"{name}: the JSON holds no records; export the table as CSV"
        )
    nested = [c for c in frame.columns if frame[c].map(type).isin([dict, list]).any()]
    for column in nested:
        # Lists become "a,b"; objects stay readable as JSON text.
        frame[column] = frame[column].map(
            lambda v: (
                ",".join(map(str, v))
                if isinstance(v, list)
                else json.dumps(v)
                if isinstance(v, dict)
                else v
            )
        )
    notes.append(
        "Read JSON " + ("lines" if lines else "records") + "; one row per record."
    )
    return frame


def _read_parquet(name: str, data: bytes | None, path: Path | None) -> pd.DataFrame:
    try:
        table = pq.read_table(pa.BufferReader(data) if data is not None else str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DatasetError(
            f"{name}: the Parquet file cannot be read ({exc}); "
            "write it again or upload a CSV"
        ) from exc
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _finish(
    frame: pd.DataFrame, name: str, notes: list[str], schema: str | None
) -> Table:
    """Trim and de-duplicate names, type text columns, convert times."""
    if frame.shape[0] == 0:
        raise DatasetError(
            f"{name}: the file has a header but no data rows; "
            "upload a file with at least one row"
        )
    frame.columns = _unique_names([str(c) for c in frame.columns], notes)
    schema = schema or detect_schema(list(frame.columns))
    epoch = set(EPOCH_SECONDS.get(schema, ()))
    for column in frame.columns:
        series = frame[column]
        if column in epoch and pd.api.types.is_numeric_dtype(series):
            frame[column] = epoch_to_utc(series)
            notes.append(f"Column {column}: epoch seconds converted to UTC times.")
        elif isinstance(series.dtype, pd.DatetimeTZDtype):
            frame[column] = series.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_dtype(series):
            frame[column] = series.dt.tz_localize("UTC")
            notes.append(f"Column {column}: times without a zone read as UTC.")
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            converted, note = _type_text_column(column, series)
            if converted is not None:
                frame[column] = converted
            if note:
                notes.append(note)
    if schema:
        notes.append(f"Recognised the {schema} layout from the column names.")
    logger.info("read %s: %d rows x %d columns", name, *frame.shape)
    return Table(frame=frame, name=name, notes=notes, schema=schema)


def _slash_dates(filled: pd.Series) -> tuple[pd.Series, str] | None:
    """Parse d/m/Y or m/d/Y times (CIC-IDS2017 writes "3/7/2017 8:55")."""
    parts = filled.str.extract(_SLASH_DATE.pattern).iloc[:, :2].astype(float)
    day_first = (parts[0] > 12).any()
    month_first = (parts[1] > 12).any()
    if day_first and month_first:
        return None
    # With no day above 12 either way, day/month is assumed (European and CIC).
    order = "month/day/year" if month_first else "day/month/year"
    times = pd.to_datetime(
        filled.str.replace(".", "/", regex=False),
        dayfirst=not month_first,
        utc=True,
        errors="coerce",
        format="mixed",
    )
    if times.notna().mean() < 0.95:
        return None
    return times, order


def _unique_names(names: list[str], notes: list[str]) -> list[str]:
    """Trim names and rename duplicates to ``name.k`` with k not yet taken."""
    trimmed = [n.strip() for n in names]
    n_trimmed = sum(a != b for a, b in zip(names, trimmed, strict=True))
    if n_trimmed:
        notes.append(f"Trimmed spaces around {n_trimmed} column name(s).")
    blank = [i for i, n in enumerate(trimmed) if not n]
    for i in blank:
        trimmed[i] = f"column_{i + 1}"
    taken = set(trimmed)
    seen: set[str] = set()
    result = []
    for i, original in enumerate(trimmed):
        if original not in seen:
            seen.add(original)
            result.append(original)
            continue
        k = 1
        while f"{original}.{k}" in taken:
            k += 1
        new = f"{original}.{k}"
        taken.add(new)
        result.append(new)
        notes.append(
            f"Column {i + 1} repeats the name '{original}'; kept it as '{new}'."
        )
    return result


def _type_text_column(
    column: str, series: pd.Series
) -> tuple[pd.Series | None, str | None]:
    """Read a text column as numbers or UTC times when nearly all cells are."""
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    filled = text.dropna()
    if filled.empty:
        return pd.Series(np.nan, index=series.index, dtype="float64"), None
    # A spread sample decides cheaply whether the full numeric parse can pay off.
    sample = filled.iloc[:: max(1, len(filled) // 2000)]
    numeric_like = sample.str.fullmatch(_NUMERIC_TOKEN.pattern).fillna(False)
    if numeric_like.mean() >= _NUMERIC_SHARE / 2:
        result = _as_numbers(column, series, filled)
        if result is not None:
            return result
    return _as_times_or_text(column, series, text, filled)


def _as_numbers(
    column: str, series: pd.Series, filled: pd.Series
) -> tuple[pd.Series, str | None] | None:
    """Numbers when at least _NUMERIC_SHARE of the filled cells are; else None."""
    grouped = filled.str.fullmatch(_THOUSANDS_COMMA.pattern).fillna(False)
    n_grouped = int(grouped.sum())
    if n_grouped:
        filled = filled.where(~grouped, filled.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(filled, errors="coerce")
    hex_mask = numbers.isna() & filled.str.fullmatch(_HEX.pattern).fillna(False)
    n_hex = int(hex_mask.sum())
    if n_hex:
        numbers = numbers.astype("float64")
        numbers[hex_mask] = [float(int(v, 16)) for v in filled[hex_mask]]
    n_ok = int(numbers.notna().sum())
    if n_ok and n_ok >= _NUMERIC_SHARE * len(filled):
        bad = filled[numbers.isna()]
        result = pd.Series(np.nan, index=series.index, dtype="float64")
        result[numbers.index] = numbers.astype("float64")
        parts = []
        if n_grouped:
            parts.append(f"removed ',' thousands separators from {n_grouped} value(s)")
        if n_hex:
            parts.append(f"decoded {n_hex} hexadecimal value(s) (0x...)")
        if len(bad):
            tokens = ", ".join(repr(t) for t in bad.unique()[:5])
            parts.append(f"{len(bad)} text cell(s) ({tokens}) counted as missing")
        missing = int(result.isna().sum())
        if missing:
            parts.append(f"{missing} missing cell(s) in all")
        note = None
        if n_hex or n_grouped or len(bad):
            note = f"Column {column}: read as numbers; " + "; ".join(parts) + "."
        return result, note
    return None


def _as_times_or_text(
    column: str, series: pd.Series, text: pd.Series, filled: pd.Series
) -> tuple[pd.Series | None, str | None]:
    """UTC times when the cells are dates; otherwise the text with blanks missing."""
    sample = filled.iloc[:200]
    if sample.str.match(_DATE_HINT.pattern).all():
        times = pd.to_datetime(filled, format="ISO8601", utc=True, errors="coerce")
        if times.notna().mean() >= 0.95:
            result = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
            result[times.index] = times
            return result, f"Column {column}: parsed as dates and times in UTC."
    if sample.str.fullmatch(_SLASH_DATE.pattern).all():
        parsed = _slash_dates(filled)
        if parsed is not None:
            times, order = parsed
            result = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
            result[times.index] = times
            return result, (
                f"Column {column}: parsed as {order} dates and times, read as UTC."
            )
    # Text is kept as written (formulas stay literal); only blank cells become missing.
    blank = series.notna() & text.isna()
    if blank.any():
        return series.mask(blank), None
    return None, None
