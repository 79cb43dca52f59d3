"""The ``techconnect`` command line, called in-process on a copy of the sample data (contract in DESIGN.md)."""

from __future__ import annotations

import json
import re

import pytest

from bot.cli import main
from catalog.io import read_records
from catalog.sample import sample_records

NEW = [
    {
        "id": "test-seaweed-001",
        "kind": "offer",
        "sector": "aquaculture",
        "country": "NL",
        "title": {"en": "Seaweed biostimulant extraction by cold enzymatic hydrolysis"},
        "description": {
            "en": "Brown seaweed (Ascophyllum) is hydrolysed with enzymes at 35 °C into a liquid biostimulant for rice and vegetables."
        },
        "contact": {"email": "seaweed@example.com"},
    },
    {
        "id": "test-req-vi-001",
        "kind": "request",
        "sector": "food_processing",
        "country": "VN",
        "title": "Cần dây chuyền đóng hộp vải thiều Thanh Hà công suất 2 tấn/giờ",
    },
]


def write_jsonl(path, rows) -> None:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8"
    )


def export(tmp_path, capsys, name: str = "export.jsonl") -> list[dict]:
    path = tmp_path / name
    assert main(["catalog", "export", str(path)]) == 0
    capsys.readouterr()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_bad_import_reports_every_bad_row_and_writes_nothing(sample_env, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    write_jsonl(
        bad,
        [
            NEW[0],  # fine on its own: still not imported
            {"id": "x-1", "title": "Máy sấy"},  # no kind
            "{not json",
            {"id": "x-2", "kind": "sale", "title": "A dryer"},
            {"id": "test-seaweed-001", "kind": "offer", "title": "Duplicate id"},
            {"id": "x-3", "kind": "offer", "title": "A dryer", "contact": {"email": "not an address"}},
            {"id": "x-4", "kind": "request", "title": "A dryer", "country": "Narnia"},
        ],
    )
    assert main(["catalog", "import", str(bad)]) == 1
    out, err = capsys.readouterr()
    rows = [line for line in err.splitlines() if line.startswith(str(bad))]
    pattern = re.compile(rf"^{re.escape(str(bad))}:(\d+): ([\w.]+): \S.*$")
    assert all(pattern.match(line) for line in rows), rows
    assert [int(pattern.match(line)[1]) for line in rows] == [2, 3, 4, 5, 6, 7]
    assert [pattern.match(line)[2] for line in rows] == ["kind", "json", "kind", "id", "contact.email", "country"]
    assert "imported" not in out

    ids = {row["id"] for row in export(tmp_path, capsys)}
    assert len(ids) == len(sample_records())
    assert "test-seaweed-001" not in ids


def test_import_then_search_queries_prints_one_json_object_per_query_in_order(sample_env, tmp_path, capsys):
    good = tmp_path / "new.jsonl"
    write_jsonl(good, NEW)
    assert main(["catalog", "import", str(good)]) == 0
    out, _err = capsys.readouterr()
    assert "2 new" in out

    queries = ["seaweed biostimulant enzymatic extraction", "đóng hộp vải thiều", "石斑魚 種苗", "asdfgh qwerty"]
    file = tmp_path / "queries.txt"
    file.write_text("\n".join(queries) + "\n", encoding="utf-8")
    assert main(["search", "--queries", str(file), "--top", "3", "--json"]) == 0
    out, _err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == len(queries), out
    objects = [json.loads(line) for line in lines]
    assert [o["query"] for o in objects] == queries
    for obj in objects:
        assert set(obj) == {"query", "results"}
        assert len(obj["results"]) <= 3
        for item in obj["results"]:
            assert set(item) == {"id", "score"}
            assert isinstance(item["id"], str) and isinstance(item["score"], float)
        scores = [item["score"] for item in obj["results"]]
        assert scores == sorted(scores, reverse=True)
    assert objects[0]["results"][0]["id"] == "test-seaweed-001"  # the index followed the import
    assert objects[1]["results"][0]["id"] == "test-req-vi-001"
    assert "tw-aqua-001" in [item["id"] for item in objects[2]["results"]]


def test_search_kind_request_returns_only_requests(sample_env, capsys):
    kinds = {record.id: record.kind for record in sample_records()}
    for kind in ("request", "offer"):
        assert main(["search", "wastewater treatment", "--kind", kind, "--top", "10", "--json"]) == 0
        out, _err = capsys.readouterr()
        (line,) = out.splitlines()
        results = json.loads(line)["results"]
        assert len(results) == 10
        assert {kinds[item["id"]] for item in results} == {kind}


def test_export_import_round_trip_in_every_format(sample_env, tmp_path, capsys):
    first = export(tmp_path, capsys, "first.jsonl")
    assert len(first) == len(sample_records())
    assert all("contact" in row for row in first if row["id"] == "tw-aqua-001")  # staff data is kept

    as_jsonl = [r.to_json() for r in read_records(tmp_path / "first.jsonl")]
    for name in ("copy.csv", "copy.json"):
        assert main(["catalog", "export", str(tmp_path / name)]) == 0
        assert [r.to_json() for r in read_records(tmp_path / name)] == as_jsonl, name
    capsys.readouterr()

    assert main(["catalog", "import", str(tmp_path / "copy.csv")]) == 0
    out, _err = capsys.readouterr()
    assert f"0 new, {len(first)} updated" in out
    assert export(tmp_path, capsys, "second.jsonl") == first


def test_search_needs_a_query_or_a_file(data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "--json"])
    assert exit_info.value.code == 2
    file = tmp_path / "q.txt"
    file.write_text("x\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["search", "shrimp", "--queries", str(file)])
