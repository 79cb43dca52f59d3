"""CSV cells that a spreadsheet would run as formulas, and the catalogue CSV round trip."""

from __future__ import annotations

import csv

import pytest

from catalog.io import csv_safe, read_records, write_records
from catalog.model import parse_record

TRICKY = ['=HYPERLINK("http://evil.example","click")', "+84 912 345 678", "-", "@SUM(A1)", "'=already quoted", "'plain"]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "'x"])
def test_a_cell_that_could_start_a_formula_gets_a_quote(value):
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Công ty", "0912 345 678", "", 7, None, "a=b"])
def test_other_cells_are_left_alone(value):
    assert csv_safe(value) == value


def test_catalogue_csv_is_neutralised_and_reads_back_unchanged(tmp_path):
    records = [
        parse_record(
            {
                "id": f"x-{n}",
                "kind": "offer",
                "title": {"en": f"Dryer {n}"},
                "organization": value,
                "contact": {"phone": value},
                "tags": [value],
            }
        )
        for n, value in enumerate(TRICKY)
    ]
    path = tmp_path / "catalogue.csv"
    write_records(records, path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row, value in zip(rows, TRICKY):
        assert row["organization"] == "'" + value
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
    back = read_records(path)
    assert [r.organization for r in back] == TRICKY
    assert [r.content_hash() for r in back] == [r.content_hash() for r in records]
