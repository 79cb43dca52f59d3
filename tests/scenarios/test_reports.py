"""The department's reporting, end to end: /stats (a PNG dashboard), /report [YYYY-MM] (an XLSX
workbook) and the monthly job, against a scripted history of two months and a live conversation.

The history (March and April 2025, in the department's time zone) is written as rows with the
times the bot would have stamped; today's conversation goes through the emulator. The numbers the
workbook shows are compared with what the script did, one by one.
"""

from __future__ import annotations

import dataclasses
import io
import struct
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from support import (
    OTHER_USER,
    STAFF,
    TW_USER,
    VI_USER,
    claim,
    last_id,
    open_ticket,
    restart,
    staff_says,
)

from bot import charts
from bot.db import Attachment, Event, EventRegistration, Introduction, Relay, Search, Ticket, User
from bot.demo import STAFF_CHAT_ID, STAFF_ID
from bot.i18n import gettext_for
from bot.reporting import Period, previous_month
from catalog.model import Record
from catalog.taxonomy import country_name, sector_label

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
AQUA, SEMI, IOT = (
    "tw-aqua-001",
    "jp-semi-001",
    "kr-iot-001",
)  # sample entries: aquaculture TW, semiconductors JP, iot KR
EN_USER = 504
INJECTION = '=HYPERLINK("http://example.com/x","click")'
FUNNEL_MSGIDS = ("Searches", "Introduction requests", "Tickets", "Introductions", "Agreements")


def local(day: str, time: str = "10:00") -> datetime:
    """A moment in the department's time zone, as the database keeps it (UTC)."""
    return datetime.fromisoformat(f"{day} {time}").replace(tzinfo=ZONE).astimezone(UTC)


async def script_history(live) -> None:
    """March and April 2025. Expected, by month (searches, requests, tickets, introductions, agreements):
    March 3, 3, 1, 1, 0 · April 4, 2, 3, 2, 1 (the request of 31 March 23:50 reached staff on 1 April)."""
    store = live.services.store
    await store.save(
        User(id=VI_USER, language="vi"), User(id=TW_USER, language="zh-Hant"), User(id=EN_USER, language="en")
    )
    searches = [
        (VI_USER, "2025-03-02", AQUA),
        (VI_USER, "2025-03-20", AQUA),
        (TW_USER, "2025-03-28", SEMI),
        (VI_USER, "2025-04-01", AQUA),
        (TW_USER, "2025-04-02", SEMI),
        (TW_USER, "2025-04-03", SEMI),
        (EN_USER, "2025-04-30", IOT),
    ]
    await store.save(
        *[
            Search(user_id=user, query="q", hits=[[hit, 0.9, "en"]], created_at=local(day))
            for user, day, hit in searches
        ]
    )

    def ticket(
        number, user, language, entries, created, consent=None, status="open", organisation="Co", **values
    ) -> Ticket:
        return Ticket(
            id=number,
            user_id=user,
            status=status,
            language=language,
            entries=entries,
            contact={"organisation": organisation},
            created_at=created,
            consent_at=consent,
            card_message_id=9100 + number,
            **values,
        )  # no topic: no job touches it

    await store.save(
        ticket(
            101,
            VI_USER,
            "vi",
            [AQUA],
            local("2025-03-05"),
            local("2025-03-05", "10:05"),
            "resolved",
            claimed_by=STAFF_ID,
            claimed_name="Lan",
            closed_at=local("2025-03-09"),
        ),
        ticket(
            102, TW_USER, "zh-Hant", [SEMI], local("2025-03-28"), status="cancelled"
        ),  # a request that never reached staff
        ticket(
            103,
            VI_USER,
            "vi",
            [AQUA],
            local("2025-03-31", "23:50"),
            local("2025-04-01", "00:10"),
            "claimed",
            claimed_by=STAFF_ID,
            claimed_name="Lan",
        ),
        ticket(
            104,
            TW_USER,
            "zh-Hant",
            [SEMI],
            local("2025-04-02"),
            local("2025-04-02", "10:02"),
            "claimed",
            claimed_by=STAFF_ID,
            claimed_name="Lan",
            organisation=INJECTION,
        ),
        ticket(
            105, EN_USER, "en", [], local("2025-04-29"), local("2025-04-29", "10:01")
        ),  # "Talk to staff", nobody holds it
    )
    replies = [
        (101, local("2025-03-05", "10:35")),
        (103, local("2025-04-01", "01:10")),
        (104, local("2025-04-02", "11:32")),
    ]
    await store.save(
        *[
            Relay(
                ticket_id=t,
                direction="to_user",
                source_chat=STAFF_CHAT_ID,
                source_message_id=8000 + t,
                text="hi",
                created_at=when,
            )
            for t, when in replies
        ],
        Relay(
            ticket_id=104,
            direction="to_staff",
            source_chat=TW_USER,
            source_message_id=8500,
            text="?",
            created_at=local("2025-04-02", "10:10"),
        ),
    )
    await store.save(
        Introduction(
            id=201,
            ticket_id=101,
            record_id=AQUA,
            stage="agreement",
            staff_id=STAFF_ID,
            created_at=local("2025-03-06"),
            updated_at=local("2025-04-10"),
        ),
        Introduction(
            id=202,
            ticket_id=104,
            record_id=SEMI,
            stage="declined",
            reason=INJECTION,
            staff_id=STAFF_ID,
            created_at=local("2025-04-03"),
            updated_at=local("2025-04-20"),
        ),
        Introduction(
            id=203,
            ticket_id=103,
            record_id=AQUA,
            stage="meeting",
            staff_id=STAFF_ID,
            created_at=local("2025-04-05"),
            updated_at=local("2025-04-08"),
        ),
    )
    await store.save(
        Event(
            id=301,
            title={"vi": "Phiên kết nối bán dẫn", "zh-Hant": "半導體媒合會"},
            starts_at=local("2025-04-15", "09:00"),
            place="Hải Phòng",
            entries=[SEMI, IOT],
            created_at=local("2025-03-20"),
        )
    )
    await store.save(
        EventRegistration(event_id=301, user_id=TW_USER, record_id=SEMI, created_at=local("2025-04-01")),
        EventRegistration(event_id=301, user_id=EN_USER, record_id=IOT, created_at=local("2025-04-14")),
    )
    posted = dict(kind="offer", language="vi", sector="aquaculture", country="VN", organization="HTX Cát Hải")
    await live.services.catalog.upsert(
        [
            Record(
                id="tc-1",
                title={"vi": "Máy sấy vải"},
                created_at=local("2025-04-12"),
                expires_at=date(2025, 10, 12),
                **posted,
            ),
            Record(
                id="tc-2",
                title={"vi": INJECTION},
                created_at=local("2024-10-01"),
                expires_at=date(2025, 4, 1),
                **posted,
            ),
            Record(
                id="tc-3",
                title={"vi": "Tin tháng ba"},
                created_at=local("2025-03-15"),
                expires_at=date(2025, 9, 15),
                **posted,
            ),
        ]
    )


async def staff_command(live, text: str) -> dict:
    mark = last_id(live, STAFF_CHAT_ID)
    await live.emulator.send_text(STAFF_ID, text, chat_id=STAFF_CHAT_ID)
    await live.settle()
    answers = [m for m in live.emulator.messages(STAFF_CHAT_ID, from_bot=True) if m["message_id"] > mark]
    assert len(answers) == 1, answers
    return answers[0]


async def downloaded(live, file: dict) -> bytes:
    return bytes(await (await live.app.bot.get_file(file["file_id"])).download_as_bytearray())


async def report_of(live, text: str):
    answer = await staff_command(live, text)
    return answer, load_workbook(io.BytesIO(await downloaded(live, answer["document"])))


def rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def pairs(sheet) -> dict:
    """The summary's two-column lines: label -> value."""
    return {row[0]: row[1] for row in rows(sheet) if row[0] is not None and len([v for v in row if v is not None]) == 2}


def table(sheet, heading: str) -> dict[str, list]:
    """A breakdown of the summary: row label -> the five funnel counts."""
    lines = rows(sheet)
    start = next(i for i, row in enumerate(lines) if row[0] == heading)
    found = {}
    for row in lines[start + 1 :]:
        if row[0] is None:
            break
        found[row[0]] = list(row[1:6])
    return found


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header (the signature, then the IHDR chunk)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def test_workbook_numbers_match_the_history_in_two_staff_languages(live):
    await script_history(live)
    answer, book = await report_of(live, "/report 2025-04")
    assert answer["document"]["file_name"] == "techconnect-2025-04.xlsx"
    assert answer["caption"].startswith(STAFF("Report {period}").format(period="2025-04"))
    assert f"{STAFF('Tickets')}: 3" in answer["caption"]
    summary = book[STAFF("Summary")]
    numbers = pairs(summary)
    assert [numbers[STAFF(m)] for m in FUNNEL_MSGIDS] == [4, 2, 3, 2, 1]
    assert numbers[STAFF("Median time to first staff reply (minutes)")] == 75.0  # 60 and 90 minutes; 105 has none
    assert numbers[STAFF("Unclaimed tickets now")] == 1
    assert numbers[STAFF("Connection events")] == 1 and numbers[STAFF("Event registrations")] == 2
    assert numbers[STAFF("Entries published")] == 1 and numbers[STAFF("Entries expired")] == 1
    assert table(summary, STAFF("Month")) == {"thg 4 2025": [4, 2, 3, 2, 1]}
    assert table(summary, STAFF("Sector")) == {
        sector_label("semiconductors", "vi"): [2, 1, 1, 1, 0],
        sector_label("aquaculture", "vi"): [1, 0, 1, 1, 1],
        sector_label("iot", "vi"): [1, 0, 0, 0, 0],
        STAFF("(none)"): [0, 1, 1, 0, 0],
    }
    assert table(summary, STAFF("Country"))[country_name("JP", "vi")] == [2, 1, 1, 1, 0]
    assert table(summary, STAFF("User language")) == {
        "Tiếng Việt": [1, 0, 1, 1, 1],
        "繁體中文": [2, 1, 1, 1, 0],
        "English": [1, 1, 1, 0, 0],
    }
    assert table(summary, STAFF("Event")) == {
        "Phiên kết nối bán dẫn": [0, 1, 1, 1, 0],
        STAFF("(none)"): [4, 1, 2, 1, 1],
    }
    assert summary._charts, "the funnel chart"

    tickets = rows(book[STAFF("Tickets")])
    assert tickets[0][:4] == [STAFF("Ticket"), STAFF("Created"), STAFF("Reached staff"), STAFF("Status")]
    assert [row[0] for row in tickets[1:]] == [103, 104, 105]
    assert tickets[1][1] == datetime(2025, 3, 31, 23, 50) and tickets[1][2] == datetime(
        2025, 4, 1, 0, 10
    )  # local times
    assert [row[9] for row in tickets[1:]] == [60.0, 90.0, None]
    intros = rows(book[STAFF("Introductions")])
    assert [(row[0], row[10]) for row in intros[1:]] == [(202, STAFF("Declined")), (203, STAFF("Meeting"))]
    assert intros[1][8] == "Phiên kết nối bán dẫn"
    outcomes = rows(book[STAFF("Outcomes")])
    assert [(row[0], row[4], row[7]) for row in outcomes[1:]] == [
        (201, STAFF("Agreement"), 35),
        (202, STAFF("Declined"), 17),
    ]
    entries = rows(book[STAFF("Entries")])
    assert [(row[0], row[8], row[9]) for row in entries[1:]] == [
        ("tc-2", STAFF("No"), STAFF("Yes")),
        ("tc-1", STAFF("Yes"), STAFF("No")),
    ]
    events = rows(book[STAFF("Events")])
    assert events[1][:3] == [301, "Phiên kết nối bán dẫn", datetime(2025, 4, 15, 9, 0)] and events[1][5:] == [2, 2, 2]
    registrations = rows(book[STAFF("Registrations")])
    assert [row[2] for row in registrations[1:]] == [SEMI, IOT] and all(
        row[3] for row in registrations[1:]
    )  # with the entries' titles
    assert book[STAFF("Charts")]._images, "the dashboard picture"

    # text that a spreadsheet would run is kept as text, in every sheet
    injected = [cell for sheet in book for row in sheet.iter_rows() for cell in row if "HYPERLINK" in str(cell.value)]
    assert len(injected) == 5  # an organisation (tickets, introductions, outcomes), a reason, an entry's title
    assert all(cell.data_type == "s" and cell.value == "'" + INJECTION for cell in injected)

    # March: the request of 31 March 23:50 (local) belongs to March, whatever the UTC date says
    _, march = await report_of(live, "/report 2025-03")
    assert [pairs(march[STAFF("Summary")])[STAFF(m)] for m in FUNNEL_MSGIDS] == [3, 3, 1, 1, 0]
    assert pairs(march[STAFF("Summary")])[STAFF("Median time to first staff reply (minutes)")] == 30.0

    # another staff language: the same numbers under Chinese headings
    live.services.settings = dataclasses.replace(live.services.settings, staff_language="zh-Hant")
    TW = gettext_for("zh-Hant")
    answer, book = await report_of(live, "/report 2025-04")
    assert answer["caption"].startswith(TW("Report {period}").format(period="2025-04"))
    numbers = pairs(book[TW("Summary")])
    assert [numbers[TW(m)] for m in FUNNEL_MSGIDS] == [4, 2, 3, 2, 1]
    assert TW("Summary") != STAFF("Summary") and TW("Searches") != STAFF("Searches")
    assert table(book[TW("Summary")], TW("Event"))["半導體媒合會"] == [0, 1, 1, 1, 0]
    assert rows(book[TW("Outcomes")])[1][4] == TW("Agreement")


async def test_stats_is_a_localized_picture(live):
    await script_history(live)
    ticket = await open_ticket(live, OTHER_USER)  # today: a search, a request, a ticket (VI_USER's ticket 103 is open)
    await claim(live, ticket)
    await staff_says(live, "Chào anh chị", ticket)
    answer = await staff_command(live, "/stats")
    photo = max(answer["photo"], key=lambda size: size["width"])
    assert png_size(await downloaded(live, photo)) == (charts.WIDTH, charts.HEIGHT) == (1600, 1200)
    caption = answer["caption"]
    now = datetime.now(ZONE)
    assert caption.splitlines()[0] == STAFF("Statistics, {period}").format(
        period=Period.ending(now.year, now.month, ZONE, 6).name()
    )
    assert f"{STAFF('Searches')}: 1" in caption and f"{STAFF('Tickets')}: 1" in caption
    assert STAFF("Median time to first staff reply") in caption and f"{STAFF('Unclaimed tickets now')}: 1" in caption
    assert "open:" not in caption and "vi:" not in caption  # no raw codes

    live.services.settings = dataclasses.replace(live.services.settings, staff_language="zh-Hans")
    HANS = gettext_for("zh-Hans")
    answer = await staff_command(live, "/stats")
    assert f"{HANS('Searches')}: 1" in answer["caption"] and HANS("Searches") != STAFF("Searches")
    assert png_size(await downloaded(live, answer["photo"][-1])) == (1600, 1200)


async def test_report_of_this_month_follows_a_live_conversation(live):
    ticket = await open_ticket(live, VI_USER)
    await claim(live, ticket)
    await staff_says(live, "Chúng tôi đã đọc yêu cầu", ticket)
    await staff_says(live, "/introduce", ticket)
    intro = (await live.services.store.introductions())[0]
    await live.emulator.send_text(
        STAFF_ID, f"/stage {intro.id} agreement", chat_id=STAFF_CHAT_ID, message_thread_id=ticket.topic_id
    )
    await live.settle()
    now = datetime.now(ZONE)
    answer, book = await report_of(live, "/report")
    assert answer["document"]["file_name"] == f"techconnect-{now.year}-{now.month:02d}.xlsx"
    numbers = pairs(book[STAFF("Summary")])
    assert [numbers[STAFF(m)] for m in FUNNEL_MSGIDS] == [1, 1, 1, 1, 1]
    assert numbers[STAFF("Unclaimed tickets now")] == 0
    assert 0 <= numbers[STAFF("Median time to first staff reply (minutes)")] < 5  # staff wrote at once
    assert rows(book[STAFF("Tickets")])[1][5] == "Công ty Thủy sản Cát Hải"


async def test_report_refuses_a_bad_month_and_outsiders(live):
    for text in ("/report 2025-13", "/report April", "/report 2025-04 2025-05"):
        answer = await staff_command(live, text)
        assert answer["text"] == STAFF(
            "Use /report for this month so far, or /report YYYY-MM for a month, e.g. /report {example}."
        ).format(example="{}-{:02d}".format(*previous_month(datetime.now(UTC), ZONE)))
    live.emulator.user(OTHER_USER, "Tuấn", "vi")
    await live.emulator.send_text(OTHER_USER, "/report 2025-04")
    await live.settle()
    assert [m["text"] for m in live.emulator.messages(OTHER_USER, from_bot=True)] == [
        STAFF("This command is for department staff.")
    ]
    assert live.emulator.calls_to("sendDocument") == []


async def test_monthly_report_is_posted_once_on_the_first(live):
    await script_history(live)
    clock = live.services.clock
    clock.advance(local("2025-05-01", "08:00") - clock.now())

    def job():
        return live.app.job_queue.get_jobs_by_name("monthly_report")[0]

    await job().run(live.app)
    await job().run(live.app)  # a second run the same day
    await restart(live)  # a new process: the clock and the record are read again
    live.services.clock.advance(local("2025-05-01", "09:00") - live.services.clock.now())
    await job().run(live.app)
    await live.settle()
    documents = [m for m in live.emulator.messages(STAFF_CHAT_ID, from_bot=True) if "document" in m]
    assert [m["document"]["file_name"] for m in documents] == ["techconnect-2025-04.xlsx"]
    assert "message_thread_id" not in documents[0]  # the group's General topic
    assert f"{STAFF('Agreements')}: 1" in documents[0]["caption"]
    book = load_workbook(io.BytesIO(await downloaded(live, documents[0]["document"])))
    assert [pairs(book[STAFF("Summary")])[STAFF(m)] for m in FUNNEL_MSGIDS] == [4, 2, 3, 2, 1]
    assert await live.services.store.get(Attachment, "report:2025-04") is not None

    live.services.clock.advance(timedelta(days=1))  # the 2nd: nothing more
    await job().run(live.app)
    await live.settle()
    assert len([m for m in live.emulator.messages(STAFF_CHAT_ID, from_bot=True) if "document" in m]) == 1
