"""Connection events end to end: staff create them (command or file), users browse them in their
language and ask to meet participants (a registration and a handoff ticket), and the reminder
job writes to each registered user once, the day before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support import (
    TW_FORM,
    bot_texts,
    fill,
    forge,
    import_refused,
    jsonl,
    last_id,
    lines_of,
    newest_with,
    press_form,
    say,
    send_file,
)

from bot.contact import PROMPTS
from bot.db import Event, EventRegistration
from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons
from bot.i18n import gettext_for, plural_for

pytestmark = pytest.mark.both_databases

TW_USER, VI_USER, BLOCKED_USER = 602, 603, 604
TW = gettext_for("zh-Hant")
STAFF = gettext_for("vi")  # Settings.staff_language defaults to "vi"
STAFF_N = plural_for("vi")
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TITLES = {
    "vi": "Phiên kết nối công nghệ Việt Nam – Đài Loan",
    "en": "Vietnam–Taiwan technology connection session",
    "zh-Hant": "越南–臺灣技術媒合會",
}
GROUPER_HANT = "龍虎斑石斑魚人工繁殖與種苗量產技術"  # tw-aqua-001 in Traditional Chinese
GROUPER_ORG = "澎海水產種苗股份有限公司"
GROUPER_NAME = GROUPER_ORG + " (sample)"  # its organisation, as the sample catalogue names it


def cancelled(event, *, told: int) -> str:
    """Staff's confirmation of /cancelevent."""
    return STAFF_N(
        "Event #{number} cancelled; {count} user was told.", "Event #{number} cancelled; {count} users were told.", told
    ).format(number=event.id, count=told)


def local_day(live, days: int) -> str:
    return (live.services.clock.now().astimezone(ZONE) + timedelta(days=days)).strftime("%Y-%m-%d")


async def staff_writes(live, text: str) -> list[str]:
    """Staff write in the staff group's General topic; the bot's replies there."""
    mark = last_id(live, STAFF_CHAT_ID)
    await live.emulator.send_text(STAFF_ID, text, chat_id=STAFF_CHAT_ID)
    await live.settle()
    return bot_texts(live, STAFF_CHAT_ID, since=mark)


async def create_event(live, days: int = 3) -> Event:
    lines = [
        "/newevent",
        f"date: {local_day(live, days)} 09:00",
        "place: Trung tâm Khoa học và Công nghệ Hải Phòng",
        *(f"{lang}: {title}" for lang, title in TITLES.items()),
        "entries: tw-aqua-001, tw-aqua-002",
    ]
    (reply,) = await staff_writes(live, "\n".join(lines))
    event = await live.services.store.newest(Event)
    assert reply.startswith("✅ " + STAFF("Event #{number} created.").format(number=event.id))
    return event


async def tap(live, user_id: int, data: str) -> None:
    message, _b = newest_with(live, user_id, data)
    await live.emulator.press(user_id, message, data)
    await live.settle()


async def registrations(live) -> list[EventRegistration]:
    return await live.services.store.rows(EventRegistration)


async def run_reminders(live) -> None:
    (job,) = [j for j in live.app.job_queue.jobs() if j.name == "event_reminders"]
    await job.run(live.app)
    await live.settle()


# ----------------------------------------------------------------------------- staff create, users meet


async def test_staff_create_an_event_and_a_taiwanese_user_asks_to_meet_a_participant(live):
    replies = await staff_writes(
        live, "/newevent\ndate: 15/12/2026 9h\nfr: Session franco-vietnamienne\nentries: tw-aqua-001, no-such-entry"
    )
    assert len(replies) == 1 and replies[0].startswith("⚠️ " + STAFF("The event was not created:"))
    for field in ("• fr:", "• date:", "• title:", "• entries:"):
        assert field in replies[0], field
    assert "no-such-entry" in replies[0] and "tw-aqua-001" not in replies[0].split(STAFF("Write it like this:"))[0]
    assert await live.services.store.rows(Event) == []

    event = await create_event(live)
    assert event.title == TITLES and event.entries == ["tw-aqua-001", "tw-aqua-002"] and event.status == "scheduled"
    assert event.starts_at == datetime.fromisoformat(f"{local_day(live, 3)} 09:00").replace(tzinfo=ZONE).astimezone(UTC)
    assert event.created_by == STAFF_ID

    live.emulator.user(TW_USER, "Mei", "zh-hant")
    await say(live, TW_USER, "/events")
    listing = live.emulator.messages(TW_USER, from_bot=True)[-1]
    assert TW("Upcoming connection events") in listing["text"] and TITLES["zh-Hant"] in listing["text"]
    assert TITLES["en"] not in listing["text"] and TITLES["vi"] not in listing["text"]
    assert (
        "年" in listing["text"] and "星期" in listing["text"] and "上午9:00" in listing["text"]
    )  # local time, Chinese format
    assert [b["callback_data"] for b in buttons(listing)] == [f"ev:{event.id}"]

    await tap(live, TW_USER, f"ev:{event.id}")
    view = live.emulator.messages(TW_USER, from_bot=True)[-1]
    assert TW("Participants") in view["text"] and GROUPER_HANT in view["text"] and GROUPER_ORG in view["text"]
    assert "🇹🇼" in view["text"]
    assert {b["callback_data"] for b in buttons(view)} == {f"ev{a}:{event.id}:{n}" for a in "dm" for n in (1, 2)}

    await tap(live, TW_USER, f"evd:{event.id}:1")
    assert GROUPER_HANT in bot_texts(live, TW_USER)[-1]

    mark = last_id(live, TW_USER)
    await tap(live, TW_USER, f"evm:{event.id}:1")
    (registration,) = await registrations(live)
    assert (registration.event_id, registration.user_id, registration.record_id) == (event.id, TW_USER, "tw-aqua-001")
    texts = bot_texts(live, TW_USER, since=mark)
    assert texts[0].startswith("✅ ") and GROUPER_ORG in texts[0] and TITLES["zh-Hant"] in texts[0]
    assert texts[-1] == TW(PROMPTS["name"])  # the contact form starts
    ticket = await live.services.store.newest_ticket(TW_USER)
    assert (ticket.status, ticket.entries, ticket.queries) == ("collecting", ["tw-aqua-001"], [TITLES["zh-Hant"]])

    await tap(live, TW_USER, f"evm:{event.id}:1")  # a second tap registers nothing new
    assert len(await registrations(live)) == 1

    await fill(live, TW_USER, TW_FORM)
    await press_form(live, TW_USER, "agree")
    ticket = await live.services.store.newest_ticket(TW_USER)
    assert ticket.status == "open"
    mark = last_id(live, TW_USER)
    await tap(live, TW_USER, f"evm:{event.id}:2")  # with an open ticket, the participant is added to it
    ticket = await live.services.store.ticket(ticket.id)
    assert ticket.entries == ["tw-aqua-001", "tw-aqua-002"]
    assert bot_texts(live, TW_USER, since=mark)[-1] == TW(
        "Added to your open request #{number}. Staff will see it there."
    ).format(number=ticket.id)
    assert len(await registrations(live)) == 2


async def test_no_events_and_cancelled_or_past_events_are_not_shown(live):
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/events")
    nothing = gettext_for("vi")(
        "No connection events are planned at the moment. Meanwhile, just write what technology you are looking for."
    )
    assert bot_texts(live, VI_USER)[-1] == nothing

    event = await create_event(live, days=1)
    await say(live, VI_USER, "/events")
    assert TITLES["vi"] in bot_texts(live, VI_USER)[-1]
    live.services.clock.advance(timedelta(days=2))  # the event is over
    await say(live, VI_USER, "/events")
    assert bot_texts(live, VI_USER)[-1] == nothing
    mark = last_id(live, VI_USER)
    await tap(live, VI_USER, f"ev:{event.id}")  # its old button
    assert bot_texts(live, VI_USER, since=mark) == []

    live.services.clock.advance(timedelta(days=-2))
    assert await staff_writes(live, f"/cancelevent {event.id}") == [cancelled(event, told=0)]
    await say(live, VI_USER, "/events")
    assert bot_texts(live, VI_USER)[-1] == nothing


async def test_registered_users_are_reminded_once_the_day_before(live):
    event = await create_event(live, days=3)
    for user_id, code in ((TW_USER, "zh-tw"), (BLOCKED_USER, "en")):
        live.emulator.user(user_id, "Guest", code)
        await say(live, user_id, "/events")
        await tap(live, user_id, f"ev:{event.id}")
        await tap(live, user_id, f"evm:{event.id}:1")
        await tap(live, user_id, f"evm:{event.id}:2")  # two wishes, still one reminder
    live.emulator.block(BLOCKED_USER)

    mark = last_id(live, TW_USER)
    await run_reminders(live)  # three days before: too early
    assert bot_texts(live, TW_USER, since=mark) == []
    assert all(r.reminded_at is None for r in await registrations(live))

    live.services.clock.advance(event.starts_at - live.services.clock.now() - timedelta(hours=12))
    await run_reminders(live)
    (reminder,) = bot_texts(live, TW_USER, since=mark)
    assert reminder.startswith("⏰ " + TW("Reminder: you are expected at this connection event."))
    assert TITLES["zh-Hant"] in reminder and "Trung tâm Khoa học" in reminder and "上午9:00" in reminder
    assert GROUPER_HANT in reminder and "🇹🇼" in reminder
    assert all(r.reminded_at is not None for r in await registrations(live))  # the blocked user too, without a crash

    await run_reminders(live)
    assert len(bot_texts(live, TW_USER, since=mark)) == 1


async def register(live, user_id: int, language_code: str, event: Event, *positions: int) -> None:
    live.emulator.user(user_id, "Guest", language_code)
    await say(live, user_id, "/events")
    await tap(live, user_id, f"ev:{event.id}")
    for position in positions:
        await tap(live, user_id, f"evm:{event.id}:{position}")


@pytest.mark.parametrize("user_id, language_code, language", [(TW_USER, "zh-tw", "zh-Hant"), (VI_USER, "vi", "vi")])
async def test_events_show_the_users_registrations_and_cancel_one(live, user_id, language_code, language):
    _ = gettext_for(language)
    event = await create_event(live, days=3)
    await register(live, user_id, language_code, event, 1, 2)
    assert len(await registrations(live)) == 2
    await fill(live, user_id, TW_FORM)  # the contact form the first Meet started
    await press_form(live, user_id, "agree")
    ticket = await live.services.store.newest_ticket(user_id)

    await say(live, user_id, "/events")
    listing = live.emulator.messages(user_id, from_bot=True)[-1]
    assert _("Your registrations") in listing["text"] and TITLES[language] in listing["text"]
    assert GROUPER_ORG in listing["text"].split(_("Your registrations"))[1]
    cancels = [b for b in buttons(listing) if b["callback_data"].startswith("evx:")]
    assert [b["callback_data"] for b in cancels] == [f"evx:{event.id}:1", f"evx:{event.id}:2"]
    assert cancels[0]["text"] == "❌ " + _("Cancel: {name}").format(name=GROUPER_NAME)

    await live.emulator.press(user_id, listing, f"evx:{event.id}:1")
    await live.settle()
    assert [r.record_id for r in await registrations(live)] == ["tw-aqua-002"]
    assert live.emulator.callback_answers[-1].get("text") == _("Cancelled: you no longer ask to meet {name}.").format(
        name=GROUPER_NAME
    )
    listing = live.emulator.messages(user_id, from_bot=True)[-1]  # the list, edited in place
    assert [b["callback_data"] for b in buttons(listing) if b["callback_data"].startswith("evx:")] == [
        f"evx:{event.id}:2"
    ]
    assert GROUPER_ORG not in listing["text"].split(_("Your registrations"))[1]
    notice = "❌ " + STAFF("The user no longer asks to meet {name} at “{event}”.").format(
        name=GROUPER_NAME, event=TITLES["vi"]
    )
    assert notice in lines_of(live.emulator.messages(STAFF_CHAT_ID, thread_id=ticket.topic_id, from_bot=True))

    mark = last_id(live, user_id)
    answer = await forge(live, user_id, listing, f"evx:{event.id}:1")  # a double tap: nothing more to cancel
    assert answer.get("text") == _("Already cancelled.") and bot_texts(live, user_id, since=mark) == []
    assert len(await registrations(live)) == 1

    live.services.clock.advance(event.starts_at - live.services.clock.now() - timedelta(hours=12))
    await run_reminders(live)  # the reminder names only the meeting still asked for
    (reminder,) = bot_texts(live, user_id, since=mark)
    assert GROUPER_ORG not in reminder and "tw-aqua-002" in {r.record_id for r in await registrations(live)}
    assert _("You asked to meet:") in reminder

    await forge(live, user_id, listing, f"evx:{event.id}:2")
    assert await registrations(live) == []
    live.services.clock.advance(timedelta(days=2))  # the event is over: its cancel button is stale
    answer = await forge(live, user_id, listing, f"evx:{event.id}:2")
    assert answer.get("text") == _("This event is no longer open. Send /events for the current ones.")
    live.services.clock.advance(timedelta(days=-2))
    assert await staff_writes(live, f"/cancelevent {event.id}") == [
        cancelled(event, told=0)
    ]  # nobody is registered any more


# ----------------------------------------------------------------------------- events files


async def test_events_file_import_is_all_or_nothing_and_reimport_updates(live):
    day = local_day(live, 10)
    good = {
        "id": "vn-tw-2026",
        "title": {"zh-Hant": TITLES["zh-Hant"], "en": TITLES["en"]},
        "date": f"{day} 14:30",
        "place": "Hải Phòng",
        "entries": ["tw-aqua-001"],
    }
    bad = {"id": "vn-kr-2026", "title": "Vietnam–Korea session", "date": "next Tuesday", "entries": ["tw-nope"]}

    (reply,) = await send_file(live, "events.jsonl", jsonl(good, bad))
    assert reply.startswith(import_refused(1))
    assert "2: date:" in reply and "2: entries:" in reply and "tw-nope" in reply
    assert await live.services.store.rows(Event) == []

    iso = {**bad, "date": f"{day}T20:00:00+08:00", "entries": ["tw-semi-001"]}  # Taipei time, with its offset
    (reply,) = await send_file(live, "events.jsonl", jsonl(good, iso))
    assert reply == "✅ " + STAFF_N(
        "Imported {count} event: {new} new, {updated} updated.",
        "Imported {count} events: {new} new, {updated} updated.",
        2,
    ).format(count=2, new=2, updated=0)
    korea, taiwan = await live.services.store.rows(Event, order_by=Event.key)
    assert taiwan.key == "vn-tw-2026" and taiwan.starts_at == datetime.fromisoformat(f"{day} 07:30").replace(tzinfo=UTC)
    assert korea.starts_at == datetime.fromisoformat(f"{day} 12:00").replace(tzinfo=UTC) and korea.title == {
        "en": "Vietnam–Korea session"
    }

    csv = (
        "id,title,date,place,entries\n"
        f'vn-tw-2026,"{{""vi"": ""{TITLES["vi"]}""}}",{day} 15:00,Hải Phòng,"tw-aqua-001, tw-aqua-002"\n'
    ).encode()
    (reply,) = await send_file(live, "events-update.csv", csv)
    assert reply == "✅ " + STAFF_N(
        "Imported {count} event: {new} new, {updated} updated.",
        "Imported {count} events: {new} new, {updated} updated.",
        1,
    ).format(count=1, new=0, updated=1)
    taiwan = await live.services.store.get(Event, taiwan.id)
    assert taiwan.title == {"vi": TITLES["vi"]} and taiwan.entries == ["tw-aqua-001", "tw-aqua-002"]
    assert taiwan.starts_at.hour == 8 and len(await live.services.store.rows(Event)) == 2
