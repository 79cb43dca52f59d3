import json

import pytest

from bot.bootstrap import open_catalog
from catalog.io import ImportFailed, read_records, write_records
from catalog.language import LANGUAGES, detect_language, normalize_language_code
from catalog.model import RecordError, parse_record
from catalog.sample import sample_records
from catalog.taxonomy import SECTORS, country_name, sector_label

GOOD = {
    "id": "tw-aqua-001",
    "kind": "offer",
    "title": {"zh-Hant": "循環水養殖系統", "en": "Recirculating aquaculture system"},
    "sector": "aquaculture",
    "country": "TW",
    "trl": 7,
    "contact": {"email": "a@example.com"},
}


def write_jsonl(path, rows):
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    "change, field",
    [
        ({"id": None}, "id"),
        ({"id": "line\nbreak"}, "id"),
        ({"id": "x" * 101}, "id"),
        ({"kind": "sale"}, "kind"),
        ({"kind": None}, "kind"),
        ({"title": None}, "title"),
        ({"title": {"fr": "Système"}}, "title"),
        ({"title": 42}, "title"),
        ({"country": "Atlantis"}, "country"),
        ({"sector": "x" * 61}, "sector"),
        ({"trl": 12}, "trl"),
        ({"trl": "seven"}, "trl"),
        ({"ip_status": "secret"}, "ip_status"),
        ({"partnership": ["marriage"]}, "partnership"),
        ({"contact": {"email": "not-an-email"}}, "contact.email"),
        ({"expires_at": "next year"}, "expires_at"),
        ({"language": "vi"}, "title"),
    ],
)
def test_each_kind_of_bad_row_is_reported_by_field(change, field):
    with pytest.raises(RecordError) as info:
        parse_record({**GOOD, **change})
    assert info.value.field == field


def test_ids_from_real_catalogues_and_country_names_in_common_forms_are_accepted():
    for rid in ("_solar_dryer_", "UNDP solution #12", "台灣-001"):
        assert parse_record({**GOOD, "id": rid}).id == rid
    countries = ["viet nam", "Việt Nam", "dai loan", "Korea", "韓國", "한국", "Holland", "日本", "kr", "Đài Loan"]
    assert [parse_record({**GOOD, "country": c}).country for c in countries] == [
        "VN",
        "VN",
        "TW",
        "KR",
        "KR",
        "KR",
        "NL",
        "JP",
        "KR",
        "TW",
    ]
    with pytest.raises(RecordError) as info:
        parse_record({**GOOD, "id": "tab\there"})
    assert "printable" in info.value.reason


def test_plain_string_title_gets_its_language_detected():
    record = parse_record({"id": "x1", "kind": "request", "title": "Cần hệ thống nuôi tôm tuần hoàn"})
    assert record.title == {"vi": "Cần hệ thống nuôi tôm tuần hoàn"} and record.language == "vi"


def test_unknown_sector_is_kept():
    assert parse_record({**GOOD, "sector": "space_mining"}).sector == "space_mining"
    assert sector_label("space_mining", "en") == "space mining"


def test_import_reports_every_bad_row_and_writes_nothing(tmp_path):
    path = write_jsonl(
        tmp_path / "c.jsonl", [GOOD, {**GOOD, "id": "b", "trl": 0}, "{not json", {**GOOD, "id": "tw-aqua-001"}]
    )
    with pytest.raises(ImportFailed) as info:
        read_records(path)
    assert [str(e) for e in info.value.errors] == [
        f"{path}:2: trl: must be a whole number from 1 to 9, not 0",
        f"{path}:3: json: Expecting property name enclosed in double quotes",
        f"{path}:4: id: duplicate of line 1",
    ]


def test_json_array_rows_are_reported_with_their_line(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([GOOD, {**GOOD, "id": "b", "kind": "gift"}], indent=1), encoding="utf-8")
    with pytest.raises(ImportFailed) as info:
        read_records(path)
    (error,) = info.value.errors
    assert error.field == "kind" and error.line == path.read_text().splitlines().index(" {", 2) + 1


def test_csv_missing_columns_and_unsupported_files(tmp_path):
    (tmp_path / "a.csv").write_text("id,title\nx,y\n")
    with pytest.raises(ImportFailed, match="missing column"):
        read_records(tmp_path / "a.csv")
    (tmp_path / "a.xml").write_text("<x/>")
    with pytest.raises(ImportFailed, match="unsupported"):
        read_records(tmp_path / "a.xml")


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_export_round_trips(tmp_path, suffix):
    records = sample_records()[:40]
    write_records(records, tmp_path / f"out{suffix}")
    back = read_records(tmp_path / f"out{suffix}")
    assert [r.to_json() for r in back] == [r.to_json() for r in records]


async def test_store_upsert_updates_by_id_in_one_transaction(tmp_path):
    store = await open_catalog(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    assert await store.upsert([parse_record(GOOD)]) == (1, 0)
    changed = parse_record({**GOOD, "trl": 8})
    assert await store.upsert([changed, parse_record({**GOOD, "id": "new"})]) == (1, 1)
    got = await store.get("tw-aqua-001")
    assert got.trl == 8 and got.created_at is not None and await store.count() == 2
    assert (await store.fingerprints())["tw-aqua-001"] == changed.content_hash()
    await store.engine.dispose()


def test_sample_catalogue_is_large_varied_and_translated():
    records = sample_records()
    assert len(records) >= 150
    assert {r.kind for r in records} == {"offer", "request"}
    assert {"TW", "JP", "KR", "IL", "NL", "VN"} <= {r.country for r in records}
    assert set(SECTORS) <= {r.sector for r in records}
    assert sum(len(r.title) > 1 for r in records) > len(records) / 2
    assert all(r.organization.endswith("(sample)") for r in records)


def test_languages_and_labels():
    assert detect_language("nuoi ca song bien") == "vi"
    assert detect_language("半導體封裝設備") == "zh-Hant" and detect_language("半导体封装设备") == "zh-Hans"
    assert [normalize_language_code(c) for c in ("zh-tw", "zh-hk", "zh", "zh-cn", "zh-hans", "vi-VN", "fr")] == [
        "zh-Hant",
        "zh-Hant",
        "zh-Hans",
        "zh-Hans",
        "zh-Hans",
        "vi",
        None,
    ]
    assert normalize_language_code("ja-JP") == "ja" and normalize_language_code("ko") == "ko"
    assert all(set(labels) == set(LANGUAGES) for labels in SECTORS.values())
    assert country_name("TW", "vi") == "Đài Loan" and country_name("KR", "zh-Hant") == "南韓"
