"""Import and export of catalogue files (JSON Lines, JSON array, CSV with the same column names).

Import is all or nothing: every bad row is reported as ``file:line: field: reason`` and nothing
is written unless the whole file is valid.

CSV cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) are written with a ``'`` in front, as are cells starting with ``'`` itself;
the CSV import removes one leading ``'`` from every cell, so a catalogue CSV reads back as it was.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.model import Record, RecordError, parse_record

CSV_COLUMNS = (
    "id",
    "kind",
    "seeking",
    "language",
    "title",
    "description",
    "sector",
    "country",
    "organization",
    "trl",
    "ip_status",
    "partnership",
    "tags",
    "contact",
    "status",
    "deadline",
    "expires_at",
    "created_at",
    "updated_at",
    "sample",
)
_STRUCTURED = ("title", "description", "partnership", "tags", "contact")


@dataclass
class RowError:
    path: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.reason}"


class ImportFailed(Exception):
    """The file had bad rows; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


def _jsonl_rows(text: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RecordError("json", exc.msg)


def _json_rows(text: str) -> Iterator[tuple[int, Any]]:
    """Items of a JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text.startswith("[", pos):
        try:
            yield 1, json.loads(text)
        except json.JSONDecodeError as exc:
            yield exc.lineno, RecordError("json", exc.msg)
        return
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield line, RecordError("json", exc.msg)
            return
        yield line, item


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell value every CSV writer here uses: text a spreadsheet would run as a formula gets a
    leading ``'`` (so does text starting with ``'``, so the import can always remove one)."""
    return "'" + value if isinstance(value, str) and value.startswith((*FORMULA_STARTS, "'")) else value


def _csv_cell(name: str, value: str) -> Any:
    value = (value[1:] if value.startswith("'") else value).strip()  # the quote csv_safe added
    if name in _STRUCTURED and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise RecordError(name, "is not valid JSON") from None
    return value or None


def _csv_rows(text: str, required: frozenset[str]) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = required - set(reader.fieldnames or ())
    if missing:
        yield 1, RecordError("header", f"missing column(s): {', '.join(sorted(missing))}")
        return
    for row in reader:
        try:
            yield reader.line_num, {k: _csv_cell(k, v or "") for k, v in row.items() if k}
        except RecordError as exc:
            yield reader.line_num, exc


SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
RECORD_COLUMNS = frozenset({"id", "kind", "title"})


def raw_rows(text: str, suffix: str, required: frozenset[str] = RECORD_COLUMNS) -> Iterator[tuple[int, Any]]:
    """(line, raw object) for every row of a JSON Lines, JSON or CSV text; a RecordError for an
    unreadable row. CSV cells holding JSON (titles keyed by language, lists) are decoded."""
    if suffix == ".csv":
        return _csv_rows(text, required)
    return _json_rows(text) if suffix == ".json" else _jsonl_rows(text)


def read_records(path: str | Path) -> list[Record]:
    """Parse and validate a whole file; raise :class:`ImportFailed` listing every bad row."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFailed([RowError(str(path), 0, "file", "unsupported type (use .jsonl, .json or .csv)")])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed([RowError(str(path), 0, "file", str(exc))]) from None
    records: list[Record] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, raw in raw_rows(text, suffix):
        try:
            if isinstance(raw, RecordError):
                raise raw
            record = parse_record(raw)
            if record.id in seen:
                raise RecordError("id", f"duplicate of line {seen[record.id]}")
        except RecordError as exc:
            errors.append(RowError(str(path), line, exc.field, exc.reason))
            continue
        seen[record.id] = line
        records.append(record)
    if errors:
        raise ImportFailed(errors)
    return records


def write_records(records: list[Record], path: str | Path) -> None:
    """Write records in the format the file name asks for; ``read_records`` reads it back."""
    path = Path(path)
    suffix = path.suffix.lower()
    rows = [record.to_json() for record in records]
    if suffix in (".jsonl", ".ndjson"):
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    elif suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        k: csv_safe(
                            json.dumps(v, ensure_ascii=False)
                            if isinstance(v, (dict, list))
                            else ("" if v is None else v)
                        )
                        for k, v in row.items()
                    }
                )
    else:
        raise ValueError(f"unsupported export type {suffix!r} (use .jsonl, .json or .csv)")
