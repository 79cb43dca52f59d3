"""Catalogue files in the staff group: imports are all or nothing with errors by line, a good
file is searchable across languages at once, files in ticket topics still reach the user, and
/export_catalog gives back what the importer reads.
"""

from __future__ import annotations

import pytest
from support import SILK, VI_USER, bot_texts, import_refused, jsonl, last_id, open_ticket, say, send_file

from bot.demo import STAFF_CHAT_ID, STAFF_ID
from bot.i18n import gettext_for, plural_for
from catalog.io import read_records

pytestmark = pytest.mark.both_databases

STAFF = gettext_for("vi")
STAFF_N = plural_for("vi")


async def test_a_bad_row_stops_the_whole_import_and_is_reported_by_line(live):
    count = await live.services.catalog.count()
    bad = {"id": "vn-hp-bad-001", "kind": "service", "title": "Dịch vụ tư vấn <b>"}
    (reply,) = await send_file(live, "catalogue.jsonl", jsonl(SILK, bad))
    assert reply.startswith(import_refused(1))
    assert "2: kind: must be one of offer, request, not 'service'" in reply
    assert await live.services.catalog.count() == count and await live.services.catalog.get(SILK["id"]) is None
    assert live.emulator.calls_to("sendDocument") == []

    rows = "\n".join(f"vn-bad-{n:03d},offer,Máy {n},,,,,,{'x' * n if n % 2 else 12}" for n in range(25))
    reply, document = await send_file(
        live, "catalogue.csv", ("id,kind,title,description,sector,country,organization,ip_status,trl\n" + rows).encode()
    )
    assert reply.startswith(import_refused(25))
    assert (
        reply.count(": trl: ") == 20 and STAFF("All {count} errors are in the attached file.").format(count=25) in reply
    )
    (attached,) = live.emulator.calls_to("sendDocument")
    assert document == ""  # the attachment, without a caption
    assert attached["document"].filename == "errors.txt"
    assert attached["document"].data.decode().splitlines()[-1].startswith("26: trl: must be a whole number from 1 to 9")
    assert await live.services.catalog.count() == count


async def test_a_good_file_is_searchable_in_another_language_right_away(live):
    count = await live.services.catalog.count()
    updated = (await live.services.catalog.get("tw-aqua-001")).to_json() | {"trl": 8}
    (reply,) = await send_file(live, "new-entries.jsonl", jsonl(SILK, updated))
    assert reply == "✅ " + STAFF_N(
        "Imported {count} entry: {new} new, {updated} updated; search is up to date.",
        "Imported {count} entries: {new} new, {updated} updated; search is up to date.",
        2,
    ).format(count=2, new=1, updated=1)
    assert await live.services.catalog.count() == count + 1
    assert (await live.services.catalog.get("tw-aqua-001")).trl == 8

    live.emulator.user(VI_USER, "Sam", "en")
    await say(live, VI_USER, "automatic silk reeling machine")  # the entry is written in Vietnamese only
    search = await live.services.store.latest_search(VI_USER)
    assert SILK["id"] in [hit[0] for hit in search.hits]


async def test_files_in_a_ticket_topic_go_to_the_user_and_are_not_imported(live):
    ticket = await open_ticket(live)
    count = await live.services.catalog.count()
    await live.emulator.send_media(
        STAFF_ID,
        "document",
        chat_id=STAFF_CHAT_ID,
        message_thread_id=ticket.topic_id,
        content=jsonl(SILK),
        file_name="brochure.jsonl",
    )
    await live.settle()
    assert len([c for c in live.emulator.calls_to("copyMessage") if c["chat_id"] == VI_USER]) == 1
    assert await live.services.catalog.count() == count
    assert not [t for t in bot_texts(live, STAFF_CHAT_ID, thread_id=ticket.topic_id) if t.startswith(("✅", "❌"))]


async def test_export_catalog_csv_reads_back_and_is_for_staff_only(live, tmp_path):
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/export_catalog csv")
    assert bot_texts(live, VI_USER)[-1] == gettext_for("vi")("This command is for department staff.")
    assert live.emulator.calls_to("sendDocument") == []

    mark = last_id(live, STAFF_CHAT_ID)
    await live.emulator.send_text(STAFF_ID, "/export_catalog csv", chat_id=STAFF_CHAT_ID)
    await live.settle()
    (sent,) = [m for m in live.emulator.messages(STAFF_CHAT_ID, from_bot=True) if m["message_id"] > mark]
    assert sent["document"]["file_name"] == "catalogue.csv"
    data = await (await live.app.bot.get_file(sent["document"]["file_id"])).download_as_bytearray()
    path = tmp_path / "catalogue.csv"
    path.write_bytes(data)
    records = read_records(path)
    originals = await live.services.catalog.all()
    assert [r.id for r in records] == [r.id for r in originals]
    assert [r.content_hash() for r in records] == [r.content_hash() for r in originals]
    assert records[0].contact == originals[0].contact


async def test_entries_imported_outside_the_bot_become_searchable_without_a_restart(live):
    """``techconnect catalog import`` (or another worker) writes the database; the bot's job picks it up."""
    from bot.config import database_url
    from catalog.model import parse_record
    from catalog.store import CatalogStore, make_engine

    outside = CatalogStore(make_engine(database_url()))
    await outside.upsert([parse_record(SILK)])
    await outside.engine.dispose()
    live.emulator.user(VI_USER, "Sam", "vi")
    await say(live, VI_USER, "máy ươm tơ tằm tự động")
    assert SILK["id"] not in [hit[0] for hit in (await live.services.store.latest_search(VI_USER)).hits]
    job = next(j for j in live.app.job_queue.jobs() if j.name == "keep_index_current")
    await job.run(live.app)
    await say(live, VI_USER, "máy ươm tơ tằm tự động")
    assert SILK["id"] in [hit[0] for hit in (await live.services.store.latest_search(VI_USER)).hits]
