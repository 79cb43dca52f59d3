"""Subscriptions and daily digests end to end: users follow sectors (buttons) or an interest in
their own words, new entries are queued for them when published, and the digest job writes to
each of them at most once a day, in their language, through the emulator; blocked users, failed
sends, a restart after a crash and 40 subscribers at once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from support import bot_texts, newest_with, say, search_count, tap

from bot.db import Digest, DigestItem, Submission, Subscription, User
from bot.demo import LiveBot, buttons
from bot.emulator import parse_html
from bot.i18n import gettext_for
from bot.publishing import publish as publish_records
from bot.publishing import queue_for_subscribers
from bot.render import details
from catalog.language import LANGUAGES
from catalog.model import parse_record
from catalog.taxonomy import country_name, sector_label

pytestmark = pytest.mark.both_databases

VI_USER, ZH_USER = 701, 702
VI, ZH = gettext_for("vi"), gettext_for("zh-Hans")
DAY = timedelta(hours=24)
PORT_INTEREST = "集装箱码头调度软件"  # "container terminal scheduling software", in Simplified Chinese


def water(n: int, language: str = "vi") -> dict:
    titles = {
        "vi": f"Tìm công nghệ xử lý nước thải cho nhà máy chế biến thủy sản số {n} ở Hải Phòng",
        "en": f"Wastewater treatment for seafood processing plant no. {n} in Hai Phong",
    }
    return {
        "id": f"test-water-{n:03d}",
        "kind": "request",
        "language": language,
        "sector": "water_treatment",
        "country": "VN",
        "title": {language: titles[language]},
        "description": {
            "en": "A frozen fish and squid plant with 2,000 m3 of wastewater a day needs treatment "
            "meeting QCVN 11-MT, preferably energy-saving."
        },
    }


PORT = {
    "id": "test-kr-port-001",
    "kind": "offer",
    "language": "en",
    "sector": "port_logistics",
    "country": "KR",
    "title": {"en": "Container terminal yard scheduling software"},
    "description": {
        "en": "Scheduling software for container terminals: plans yard stacking, quay crane and truck "
        "assignments in real time and cuts vessel turnaround by 12%."
    },
}
SHRIMP = {
    "id": "test-tw-shrimp-001",
    "kind": "offer",
    "language": "zh-Hant",
    "sector": "aquaculture",
    "country": "TW",
    "title": {"zh-Hant": "白蝦室內循環水高密度養殖技術"},
    "description": {"zh-Hant": "以室內循環水系統進行白蝦高密度養殖，結合自動投餵與水質即時監測。"},
}


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
async def bot(live):
    """The live bot with the digest job paused on its schedule: tests run it when they mean to."""
    digest_job(live).enabled = False
    return live


def digest_job(live):
    (job,) = [j for j in live.app.job_queue.jobs() if j.name == "send_digests"]
    return job


async def run_digests(live) -> None:
    await digest_job(live).run(live.app)
    await live.settle()


async def publish(live, *raws: dict) -> list:
    """Write entries to the catalogue as published and tell the bot, as approval or import does."""
    records = [parse_record(raw) for raw in raws]
    await publish_records(live.app.bot, live.services, records)
    await live.settle()
    return records


def digests_to(live, user_id: int) -> list[dict]:
    """The bot's digest messages in a user's chat (those with the Unsubscribe button)."""
    return [
        m
        for m in live.emulator.messages(user_id, from_bot=True)
        if any(b.get("callback_data") == "sub:stop" for b in buttons(m))
    ]


async def items_of(live, user_id: int) -> dict[str, DigestItem]:
    return {item.record_id: item for item in await live.services.store.rows(DigestItem, DigestItem.user_id == user_id)}


async def follow_sector(live, user_id: int, sector: str, language_code: str = "vi") -> None:
    live.emulator.user(user_id, f"User {user_id}", language_code)
    await say(live, user_id, "/subscribe")
    await tap(live, user_id, f"sub:t:{sector}")


def button_labels(message: dict) -> list[str]:
    return [b["text"] for b in buttons(message)]


# ----------------------------------------------------------------------------- the whole story


async def test_subscribers_get_one_digest_a_day_in_their_language(bot):
    live = bot
    # A Vietnamese user follows a sector with the buttons.
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/subscribe")
    message = live.emulator.messages(VI_USER, from_bot=True)[-1]
    assert VI("Daily digest of new entries") in message["text"] and "/unsubscribe" in message["text"]
    assert sector_label("water_treatment", "vi") in button_labels(message)
    assert "✔️ " + VI("Done") in button_labels(message)
    await tap(live, VI_USER, "sub:t:water_treatment")
    await tap(live, VI_USER, "sub:t:aquaculture")
    await tap(live, VI_USER, "sub:t:aquaculture")  # changed their mind
    message = live.emulator.messages(VI_USER, from_bot=True)[-1]
    assert "✅ " + sector_label("water_treatment", "vi") in button_labels(message)
    assert sector_label("aquaculture", "vi") in button_labels(message)  # without the tick
    assert VI("Sectors: {sectors}").format(sectors=sector_label("water_treatment", "vi")) in message["text"]
    await tap(live, VI_USER, "sub:done")
    message = live.emulator.messages(VI_USER, from_bot=True)[-1]
    assert message["text"].endswith("✅ " + VI("Saved.")) and not buttons(message)
    sub = await live.services.store.get(Subscription, VI_USER)
    assert sub.sectors == ["water_treatment"] and sub.interest is None and sub.active

    # A user writing Simplified Chinese follows an interest in their own words.
    live.emulator.user(ZH_USER, "Wei", "zh-hans")
    await say(live, ZH_USER, "/subscribe 港")
    assert bot_texts(live, ZH_USER)[-1] == ZH(
        "Describe your interest in {low} to {high} characters after the command, e.g. "
        "/subscribe shrimp farming water treatment"
    ).format(low=3, high=200)
    assert await live.services.store.get(Subscription, ZH_USER) is None  # nothing saved
    await say(live, ZH_USER, f"/subscribe {PORT_INTEREST}")
    reply = bot_texts(live, ZH_USER)[-1]
    assert ZH("Interest: {interest}").format(interest=f"“{PORT_INTEREST}”") in reply and "/unsubscribe" in reply
    assert (await live.services.store.get(Subscription, ZH_USER)).interest == PORT_INTEREST

    # New entries: a Vietnamese need in the followed sector, an English offer the Chinese words find,
    # and one that interests neither.
    await publish(live, water(1), PORT, SHRIMP)
    assert {rid: item.reason for rid, item in (await items_of(live, VI_USER)).items()} == {
        "test-water-001": "water_treatment"
    }
    assert {rid: item.reason for rid, item in (await items_of(live, ZH_USER)).items()} == {PORT["id"]: "interest"}

    await run_digests(live)
    (vi_digest,) = digests_to(live, VI_USER)
    assert vi_digest["text"].startswith("📬 " + VI("New on TechConnect for you"))
    assert water(1)["title"]["vi"] in vi_digest["text"] and "📝" in vi_digest["text"]
    assert f"{sector_label('water_treatment', 'vi')} · 🇻🇳 {country_name('VN', 'vi')}" in vi_digest["text"]
    (zh_digest,) = digests_to(live, ZH_USER)
    assert zh_digest["text"].startswith("📬 " + ZH("New on TechConnect for you"))
    assert (
        PORT["title"]["en"] in zh_digest["text"] and "💡" in zh_digest["text"]
    )  # the original, as nothing else exists
    assert f"{sector_label('port_logistics', 'zh-Hans')} · 🇰🇷 {country_name('KR', 'zh-Hans')}" in zh_digest["text"]
    assert SHRIMP["title"]["zh-Hant"] not in vi_digest["text"] + zh_digest["text"]
    digests = await live.services.store.rows(Digest)
    assert sorted((d.user_id, d.status) for d in digests) == [(VI_USER, "sent"), (ZH_USER, "sent")]
    assert {d.message_id for d in digests} == {vi_digest["message_id"], zh_digest["message_id"]}

    # Details of a digest entry, in the reader's language.
    await tap(live, ZH_USER, "dgd:")
    assert bot_texts(live, ZH_USER)[-1] == parse_html(details(parse_record(PORT), "zh-Hans"))[0]
    await tap(live, ZH_USER, "dgi:")  # and from there, an introduction: the handoff's contact form starts
    ticket = await live.services.store.newest_ticket(ZH_USER)
    assert ticket.status == "collecting" and ticket.entries == [PORT["id"]]
    assert bot_texts(live, ZH_USER)[-1] == ZH("Your full name?")

    # A second entry the same day waits for tomorrow's digest.
    await publish(live, water(2, "en"))
    await run_digests(live)
    assert len(digests_to(live, VI_USER)) == 1
    live.services.clock.advance(DAY)
    await run_digests(live)
    _first, second = digests_to(live, VI_USER)
    assert water(2, "en")["title"]["en"] in second["text"] and water(1)["title"]["vi"] not in second["text"]
    assert len(digests_to(live, ZH_USER)) == 1

    # An entry withdrawn since: its Details button says so.
    await live.services.catalog.upsert([parse_record({**water(2, "en"), "status": "withdrawn"})])
    mark = len(bot_texts(live, VI_USER))
    await tap(live, VI_USER, "dgd:")
    assert len(bot_texts(live, VI_USER)) == mark
    assert live.emulator.callback_answers[-1]["text"] == VI("This button is no longer valid.")

    # Unsubscribed: nothing more, by command or by the button under a digest.
    await say(live, VI_USER, "/unsubscribe")
    assert bot_texts(live, VI_USER)[-1] == VI(
        "You are unsubscribed: no more digests. Send /subscribe to follow sectors or an interest again."
    )
    message, _b = newest_with(live, ZH_USER, "sub:stop")
    await live.emulator.press(ZH_USER, message, "sub:stop")
    await live.settle()
    assert bot_texts(live, ZH_USER)[-1] == ZH(
        "You are unsubscribed: no more digests. Send /subscribe to follow sectors or an interest again."
    )
    for user_id in (VI_USER, ZH_USER):
        sub = await live.services.store.get(Subscription, user_id)
        assert not sub.active and sub.sectors == [] and sub.interest is None
    await publish(live, water(3), {**PORT, "id": "test-kr-port-002"})
    live.services.clock.advance(DAY)
    await run_digests(live)
    assert len(digests_to(live, VI_USER)) == 2 and len(digests_to(live, ZH_USER)) == 1
    assert "test-water-003" not in await items_of(live, VI_USER)


INTEREST_PROMPT = (
    "What interests you? Write it in a few words (e.g. shrimp farming water treatment): new offers and needs "
    "that fit will come in your daily digest."
)
INTEREST_HINT = "Describe your interest in {low} to {high} characters, e.g. shrimp farming water treatment"


@pytest.mark.parametrize(
    "language_code, language, interest",
    [("vi", "vi", "xử lý nước thải nuôi tôm"), ("zh-tw", "zh-Hant", "石斑魚種苗繁殖")],
)
async def test_a_bare_subscribe_offers_to_write_the_interest_as_the_next_message(
    bot, language_code, language, interest
):
    live, user_id = bot, 721
    _ = gettext_for(language)
    live.emulator.user(user_id, "Lan", language_code)
    await say(live, user_id, "/subscribe")
    message = live.emulator.messages(user_id, from_bot=True)[-1]
    assert "✏️ " + _("Add an interest") in button_labels(message)
    await tap(live, user_id, "sub:i")
    assert bot_texts(live, user_id)[-1] == _(INTEREST_PROMPT)

    await say(live, user_id, "ab")  # too short: the question stands
    assert bot_texts(live, user_id)[-1] == _(INTEREST_HINT).format(low=3, high=200)
    await say(live, user_id, interest)
    reply = live.emulator.messages(user_id, from_bot=True)[-1]
    assert _("Interest: {interest}").format(interest=f"“{interest}”") in reply["text"]
    assert reply["text"].endswith("✅ " + _("Saved."))
    assert "✏️ " + _("Change the interest") in button_labels(reply)
    assert (await live.services.store.get(Subscription, user_id)).interest == interest
    assert await search_count(live, user_id) == 0  # the answer was not searched

    # the question was answered: the next message is a search again
    await say(live, user_id, interest)
    assert await search_count(live, user_id) == 1

    # a command leaves the question unanswered; what follows is a search, and the interest stays
    await tap(live, user_id, "sub:i")
    assert _("Now: {value}").format(value=interest) in bot_texts(live, user_id)[-1]
    await say(live, user_id, "/start")
    await say(live, user_id, "máy sấy nông sản")
    assert await search_count(live, user_id) == 2
    assert (await live.services.store.get(Subscription, user_id)).interest == interest


async def test_entries_are_queued_once_never_for_their_owner_and_long_digests_are_cut(bot):
    live = bot
    owner, reader = 711, 712
    for user_id in (owner, reader):
        await follow_sector(live, user_id, "water_treatment")
    records = [parse_record(water(n)) for n in range(1, 13)]
    await live.services.store.save(
        Submission(
            user_id=owner,
            kind="request",
            language="vi",
            status="approved",
            draft={"title": records[0].title["vi"]},
            record_id=records[0].id,
        )
    )
    await live.services.catalog.upsert(records)
    await live.services.engine.refresh(live.services.catalog)
    assert await queue_for_subscribers(live.services, records) == 12 + 11
    assert await queue_for_subscribers(live.services, records) == 0  # already queued
    assert records[0].id not in await items_of(live, owner)

    await run_digests(live)
    (digest,) = digests_to(live, reader)
    assert records[9].title["vi"] in digest["text"] and records[10].title["vi"] not in digest["text"]
    assert VI("…and {count} more.").format(count=2) in digest["text"]
    assert [b["text"] for b in buttons(digest)] == [f"ℹ️ {n}" for n in range(1, 11)] + ["🔕 " + VI("Unsubscribe")]
    (own,) = digests_to(live, owner)
    assert records[0].title["vi"] not in own["text"] and VI("…and {count} more.").format(count=1) in own["text"]
    assert all(item.digest_id is not None for item in await live.services.store.rows(DigestItem))


async def test_a_blocked_user_is_unsubscribed_and_a_failed_send_is_retried(bot):
    live = bot
    blocked, unreachable = 721, 722
    for user_id in (blocked, unreachable):
        await follow_sector(live, user_id, "water_treatment")
    await publish(live, water(1))
    live.emulator.block(blocked)
    live.emulator.set_unreachable(unreachable)
    await run_digests(live)
    store = live.services.store
    assert [d.status for d in await store.rows(Digest, Digest.user_id == blocked)] == ["failed"]
    assert not (await store.get(Subscription, blocked)).active
    assert [d.status for d in await store.rows(Digest, Digest.user_id == unreachable)] == ["failed"]
    assert (await items_of(live, unreachable))["test-water-001"].digest_id is None  # back in the queue
    assert (await store.get(Subscription, unreachable)).last_digest_at is None

    live.emulator.set_unreachable(unreachable, False)
    await run_digests(live)  # the next run, not tomorrow
    (digest,) = digests_to(live, unreachable)
    assert water(1)["title"]["vi"] in digest["text"]
    assert [d.status for d in await store.rows(Digest, Digest.user_id == unreachable)] == ["failed", "sent"]
    assert not digests_to(live, blocked) and len(await store.rows(Digest, Digest.user_id == blocked)) == 1


async def test_a_digest_interrupted_by_a_crash_is_not_sent_again_after_a_restart(bot):
    live = bot
    crashed, waiting = 731, 732
    for user_id in (crashed, waiting):
        await follow_sector(live, user_id, "water_treatment")
    await publish(live, water(1))
    store, clock = live.services.store, live.services.clock
    # What a crash between writing a digest and sending it leaves behind.
    digest = Digest(user_id=crashed, status="sending", created_at=clock.now())
    await store.save(digest)
    item = (await items_of(live, crashed))["test-water-001"]
    item.digest_id = digest.id
    subscription = await store.get(Subscription, crashed)
    subscription.last_digest_at = clock.now()
    await store.save(item, subscription)

    async with LiveBot(services=live.services) as restarted:
        digest_job(restarted).enabled = False
        for user_id in (crashed, waiting):
            restarted.emulator.user(user_id, f"User {user_id}", "vi")
        await run_digests(restarted)
        await run_digests(restarted)
        clock.advance(DAY)
        await run_digests(restarted)
        assert len(digests_to(restarted, waiting)) == 1
        assert digests_to(restarted, crashed) == []
        assert [m["chat_id"] for m in restarted.emulator.calls_to("sendMessage")] == [waiting]
    assert (await store.get(Digest, digest.id)).status == "sending"


async def test_forty_subscribers_get_their_digests_once_within_telegrams_rate(bot):
    live = bot
    users = list(range(800, 840))
    languages = {user_id: LANGUAGES[n % len(LANGUAGES)] for n, user_id in enumerate(users)}
    for user_id, language in languages.items():
        live.emulator.user(user_id, f"User {user_id}", language)
    await live.services.store.save(
        *(User(id=user_id, language=language, first_name=f"User {user_id}") for user_id, language in languages.items())
    )
    await live.services.store.save(*(Subscription(user_id=user_id, sectors=["port_logistics"]) for user_id in users))
    await publish(live, PORT)

    await run_digests(live)
    await run_digests(live)  # nothing is due any more
    dates = Counter()
    for user_id, language in languages.items():
        (digest,) = live.emulator.messages(user_id, from_bot=True)
        assert digest["text"].startswith("📬 " + gettext_for(language)("New on TechConnect for you"))
        assert PORT["title"]["en"] in digest["text"]
        dates[digest["date"]] += 1
    assert max(dates.values()) <= 30, dates
    assert sorted(m["chat_id"] for m in live.emulator.calls_to("sendMessage") if m["chat_id"] in languages) == users
    assert Counter(d.status for d in await live.services.store.rows(Digest)) == {"sent": 40}
