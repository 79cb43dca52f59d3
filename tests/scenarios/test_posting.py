"""Posting offers and needs, staff review, /mine, expiry and proactive matching, end to end:
the real bot polling the Bot API emulator, a real SQLite file, the real model and index.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from support import (
    TW_OFFER,
    VI_NEED,
    bot_texts,
    english_title,
    last_id,
    newest_with,
    post,
    press,
    publish,
    restart,
    review_topic,
    say,
    staff_press,
    staff_says,
    tap,
)

from bot.db import Match, StaffTopic, Submission, Ticket
from bot.demo import STAFF_CHAT_ID, STAFF_ID, LiveBot, buttons
from bot.entry_form import HINTS, PROMPTS
from bot.i18n import gettext_for, plural_for
from bot.render import long_date
from bot.review_card import REASONS
from catalog.model import PARTNERSHIPS

pytestmark = pytest.mark.both_databases

VI_USER, TW_USER, EN_USER, HANS_USER = 601, 602, 603, 604
STAFF = gettext_for("vi")


async def found(live, user_id: int, query: str, record_id: str, language_code: str = "en") -> bool:
    """Whether a supplier looking for enterprises that need their technology finds the entry."""
    live.emulator.user(user_id, "Searcher", language_code)
    await say(live, user_id, "/start")
    await press(live, user_id, "partners")
    since = last_id(live, user_id)
    await say(live, user_id, query)
    search = await live.services.store.latest_search(user_id)
    assert bot_texts(live, user_id, since=since), "the search got no answer"
    return record_id in [hit[0] for hit in search.hits]


# ----------------------------------------------------------------------------- posting


async def test_need_posted_in_vietnamese_with_a_correction_is_reviewed_and_found_in_english(live):
    _ = gettext_for("vi")
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/start")
    await press(live, VI_USER, "need")
    assert bot_texts(live, VI_USER)[-1] == _(PROMPTS[("request", "title")])
    await say(live, VI_USER, "RAS")  # too short
    assert bot_texts(live, VI_USER)[-1] == _(HINTS["title"])
    await say(live, VI_USER, "Tôm")
    await say(live, VI_USER, VI_NEED["title"])
    assert bot_texts(live, VI_USER)[-1] == _(PROMPTS[("request", "title_en")])
    await say(live, VI_USER, "Hệ thống nuôi tôm")  # not English
    assert bot_texts(live, VI_USER)[-1] == _(HINTS["title_en"])
    await press(live, VI_USER, "back")  # back to the title
    assert bot_texts(live, VI_USER)[-1].startswith(_(PROMPTS[("request", "title")]))  # with the title given before
    await say(live, VI_USER, VI_NEED["title"])
    await say(live, VI_USER, VI_NEED["title_en"])
    await say(live, VI_USER, VI_NEED["description"])
    await press(live, VI_USER, "k-technology")
    await press(live, VI_USER, "s-aquaculture")
    await say(live, VI_USER, "Việt Nam")  # a country typed by name
    await press(live, VI_USER, "t-6")
    await press(live, VI_USER, f"p-{PARTNERSHIPS.index('licensing')}")
    await press(live, VI_USER, f"p-{PARTNERSHIPS.index('technical_cooperation')}")
    await press(live, VI_USER, f"p-{PARTNERSHIPS.index('licensing')}")  # untick
    await press(live, VI_USER, "p-done")
    await say(live, VI_USER, "31/02/2027")  # no such date
    assert bot_texts(live, VI_USER)[-1] == _(HINTS["deadline"])
    await say(live, VI_USER, "30/06/2027")
    for answer in VI_NEED["contact"]:
        await say(live, VI_USER, answer)
    preview = bot_texts(live, VI_USER)[-1]
    assert VI_NEED["title"] in preview and "Nguyễn Thị Hoa" in preview and _("Technical cooperation") in preview
    await press(live, VI_USER, "edit")
    await press(live, VI_USER, "e-title")
    await say(live, VI_USER, "Hệ thống nuôi tôm tuần hoàn RAS trong nhà tiết kiệm nước")
    assert "Hệ thống nuôi tôm tuần hoàn RAS trong nhà" in bot_texts(live, VI_USER)[-1]  # straight back to the preview
    await press(live, VI_USER, "submit")

    submission = await live.services.store.newest(Submission, Submission.user_id == VI_USER)
    assert submission.status == "pending" and submission.consent_at is not None
    assert submission.draft["partnership"] == ["technical_cooperation"] and submission.draft["country"] == "VN"
    assert submission.draft["deadline"] == "2027-06-30"
    card = live.emulator.messages(STAFF_CHAT_ID, thread_id=await review_topic(live), from_bot=True)[-1]
    assert "Hệ thống nuôi tôm tuần hoàn RAS trong nhà" in card["text"] and "0912 345 678" in card["text"]
    assert await live.services.catalog.get(f"tc-{submission.id}") is None  # nothing public before review

    since = last_id(live, VI_USER)
    await staff_press(live, "ok")
    submission = await live.services.store.get(Submission, submission.id)
    assert submission.status == "approved" and submission.reviewed_by
    record = await live.services.catalog.get(submission.record_id)
    assert record.status == "published" and record.kind == "request" and record.language == "vi"
    assert record.title["en"] == VI_NEED["title_en"]
    assert record.expires_at == record.deadline == date(2027, 6, 30)  # listed until the need's own deadline
    told = bot_texts(live, VI_USER, since=since)
    published = _(
        "Good news: your entry “{title}” is published. Others can find it now, in every language. "
        "It stays online until {date}; I will remind you a week before. See /mine to edit, renew or withdraw it."
    )
    assert published.format(title=submission.draft["title"], date=long_date(record.expires_at, "vi")) in told
    assert await found(live, EN_USER, "indoor recirculating shrimp farming system wanted", record.id)
    card = live.emulator.messages(STAFF_CHAT_ID, thread_id=await review_topic(live), from_bot=True)[0]
    assert not buttons(card) and STAFF("Approved by {name}").format(name="") in card["text"]  # decided: no more buttons


@pytest.mark.parametrize(
    "language_code, language, entry",
    [
        ("zh-hant", "zh-Hant", TW_OFFER),
        (
            "en",
            "en",
            {
                "title": "Solar dryer for fruit and spices",
                "description": "Greenhouse-type solar dryers with "
                "backup biomass heating for mango, pepper and cinnamon; 40% faster drying than open sun.",
                "contact": ["John Smith", "Sunny Dry Ltd", "Sales director", "john@sunnydry.example.com"],
            },
        ),
        (
            "zh-hans",
            "zh-Hans",
            {
                "title": "海水养殖网箱自动投饵系统",
                "description": "为近海网箱养殖提供自动投饵机与远程监控，节省饲料百分之十五，已在福建应用。",
                "contact": ["王伟", "厦门海洋装备公司", "总经理", "+86 592 555 0123"],
            },
        ),
    ],
)
async def test_offer_in_each_language_with_a_correction_a_cancel_and_a_resume(live, language_code, language, entry):
    _ = gettext_for(language)
    live.emulator.user(TW_USER, "Mei", language_code)
    await say(live, TW_USER, "/start")
    await press(live, TW_USER, "offer")
    await say(live, TW_USER, entry["title"])
    await press(live, TW_USER, "cancel")
    assert bot_texts(live, TW_USER)[-1] == _("Cancelled. Nothing was sent to staff.")
    assert (await live.services.store.newest(Submission, Submission.user_id == TW_USER)).status == "cancelled"
    await say(live, TW_USER, "/post")
    await press(live, TW_USER, "offer")
    assert bot_texts(live, TW_USER)[-1] == _(PROMPTS[("offer", "title")])
    await say(live, TW_USER, entry["title"])
    await english_title(live, TW_USER, entry)
    await say(live, TW_USER, entry["description"][:12])  # too short: a hint in the user's language, asked again
    assert bot_texts(live, TW_USER)[-1] == _(HINTS["description"])
    await say(live, TW_USER, entry["description"])
    await press(live, TW_USER, "s-aquaculture")
    await say(live, TW_USER, "/post")
    await press(live, TW_USER, "offer")  # an unfinished draft is offered to be continued
    await press(live, TW_USER, "resume")
    assert bot_texts(live, TW_USER)[-1] == _(PROMPTS[("offer", "country")])
    await press(live, TW_USER, "c-TW")
    await press(live, TW_USER, "t-none")
    await press(live, TW_USER, "p-done")
    await press(live, TW_USER, "i-patent_pending")
    for answer in entry["contact"]:
        await say(live, TW_USER, answer)
    await press(live, TW_USER, "submit")
    submission = await live.services.store.newest(Submission, Submission.user_id == TW_USER)
    assert submission.status == "pending" and submission.language == language and submission.draft["trl"] is None
    assert submission.draft["ip_status"] == "patent_pending" and submission.draft["country"] == "TW"


async def test_a_restart_in_the_middle_of_a_posting_loses_nothing(sample_env):
    _ = gettext_for("vi")
    async with LiveBot() as live:
        live.emulator.user(VI_USER, "Hoa", "vi")
        await say(live, VI_USER, "/start")
        await press(live, VI_USER, "need")
        await say(live, VI_USER, VI_NEED["title"])
        await press(live, VI_USER, "n-none")
        await say(live, VI_USER, VI_NEED["description"])
        await press(live, VI_USER, "k-technology")
        await restart(live)  # a new process: services and application all new; Telegram keeps running
        await say(live, VI_USER, "Xin chào")  # typed at a button step: the draft asks for the buttons
        assert bot_texts(live, VI_USER)[-1] == _("Please tap one of the buttons above.")
        await say(live, VI_USER, "Thủy sản")  # the words of one button: as good as tapping it
        assert bot_texts(live, VI_USER)[-1] == _(PROMPTS[("request", "country")])
        submission = await live.services.store.newest(Submission, Submission.user_id == VI_USER)
        assert submission.draft["title"] == VI_NEED["title"] and submission.draft["sector"] == "aquaculture"
        assert submission.step == "country"


# ----------------------------------------------------------------------------- review


async def test_rejection_with_a_listed_reason_and_with_a_typed_one(live):
    tw = gettext_for("zh-Hant")
    await post(live, TW_USER, "offer", TW_OFFER, "zh-hant")
    since = last_id(live, TW_USER)
    await staff_press(live, "no")
    await staff_press(live, "r-unclear")
    submission = await live.services.store.newest(Submission, Submission.user_id == TW_USER)
    assert submission.status == "rejected" and submission.reason == "unclear"
    told = bot_texts(live, TW_USER, since=since)
    assert len(told) == 1 and tw(REASONS["unclear"]) in told[0] and TW_OFFER["title"] in told[0]
    assert await live.services.catalog.get(f"tc-{submission.id}") is None

    # an edit begun and cancelled leaves it rejected, still listed
    await say(live, TW_USER, "/mine")
    await press(live, TW_USER, "open")
    await press(live, TW_USER, "edit")
    await press(live, TW_USER, "cancel")
    assert (await live.services.store.get(Submission, submission.id)).status == "rejected"
    await say(live, TW_USER, "/mine")
    assert TW_OFFER["title"] in bot_texts(live, TW_USER)[-1]

    # the owner corrects it from /mine and sends it again; staff type a reason this time
    await press(live, TW_USER, "open")
    await press(live, TW_USER, "edit")
    await press(live, TW_USER, "submit")
    assert (await live.services.store.get(Submission, submission.id)).status == "pending"
    await staff_press(live, "no")
    await staff_press(live, "r-type")
    since = last_id(live, TW_USER)
    await live.emulator.send_text(
        STAFF_ID, "Please add the <price> range.", chat_id=STAFF_CHAT_ID, message_thread_id=await review_topic(live)
    )
    await live.settle()
    submission = await live.services.store.get(Submission, submission.id)
    assert submission.status == "rejected" and submission.reason == "Please add the <price> range."
    assert "Please add the <price> range." in bot_texts(live, TW_USER, since=since)[0]


async def test_staff_edit_a_field_before_approving(live):
    await post(live, VI_USER, "request", VI_NEED, "vi")
    await staff_press(live, "edit")
    await staff_press(live, "e-title")
    topic = await review_topic(live)
    await live.emulator.send_text(
        STAFF_ID, "Tôm", chat_id=STAFF_CHAT_ID, message_thread_id=topic
    )  # too short: asked again
    await live.settle()
    assert bot_texts(live, STAFF_CHAT_ID, thread_id=topic)[-1] == STAFF(HINTS["title"])
    await live.emulator.send_text(
        STAFF_ID, "Hệ thống RAS nuôi tôm thẻ chân trắng", chat_id=STAFF_CHAT_ID, message_thread_id=topic
    )
    await live.settle()
    await staff_press(live, "edit")
    await staff_press(live, "e-sector")
    await staff_press(live, "s-water_treatment")
    await staff_press(live, "ok")
    submission = await live.services.store.newest(Submission, Submission.user_id == VI_USER)
    record = await live.services.catalog.get(submission.record_id)
    assert record.title == {"vi": "Hệ thống RAS nuôi tôm thẻ chân trắng", "en": VI_NEED["title_en"]}
    assert record.sector == "water_treatment"


async def test_only_staff_can_review(live):
    await post(live, VI_USER, "request", VI_NEED, "vi")
    live.emulator.user(OUTSIDER := 699, "Mallory", "en")
    message, b = newest_with(live, STAFF_CHAT_ID, "rv:", thread_id=await review_topic(live))
    await live.emulator.press(OUTSIDER, message, b["callback_data"])
    await live.settle()
    assert (await live.services.store.newest(Submission, Submission.user_id == VI_USER)).status == "pending"


# ----------------------------------------------------------------------------- matching


async def test_a_vietnamese_need_matching_a_traditional_chinese_offer_tells_both_sides_and_staff(live):
    vi, tw = gettext_for("vi"), gettext_for("zh-Hant")
    offer = await publish(live, TW_USER, "offer", TW_OFFER, "zh-hant", country="c-TW")
    tw_since, vi_since = last_id(live, TW_USER), 0
    need = await publish(live, VI_USER, "request", VI_NEED, "vi")

    pairs = await live.services.store.rows(Match, Match.record_id == need.record_id)
    assert offer.record_id in [m.counterpart_id for m in pairs]
    to_vi = bot_texts(live, VI_USER, since=vi_since)
    notice = next(
        t for t in to_vi if t.startswith(vi("Good news: these technology offers may answer your need “{title}”:")[:20])
    )
    assert TW_OFFER["title"] in notice
    to_tw = bot_texts(live, TW_USER, since=tw_since)
    assert any(
        tw("A new need may match your offer “{title}”:").format(title=TW_OFFER["title"]) in t
        and VI_NEED["title_en"] in t  # a reader of Chinese gets the English title before the Vietnamese original
        for t in to_tw
    )

    # staff propose the introduction from the matches digest: one ticket holding both entries
    match = next(m for m in pairs if m.counterpart_id == offer.record_id)
    row = await live.services.store.get(StaffTopic, "matches")
    message, b = newest_with(live, STAFF_CHAT_ID, f"pi:{match.id}", thread_id=row.topic_id)
    await live.emulator.press(STAFF_ID, message, b["callback_data"])
    await live.settle()
    ticket = await live.services.store.newest(Ticket, Ticket.user_id == VI_USER)
    assert ticket.status == "open" and set(ticket.entries) == {need.record_id, offer.record_id} and ticket.topic_id
    assert ticket.contact["name"] == "Nguyễn Thị Hoa" and ticket.consent_at is not None
    assert (await live.services.store.get(Match, match.id)).ticket_id == ticket.id
    card = live.emulator.messages(STAFF_CHAT_ID, thread_id=ticket.topic_id, from_bot=True)[0]["text"]
    assert "mei.lin@example.com.tw" in card  # the other party's contact, for staff
    # each side hears whom staff propose to introduce, in their language, and what happens next
    vi_org, tw_org = VI_NEED["contact"][1], TW_OFFER["contact"][1]
    (to_vi,) = [t for t in bot_texts(live, VI_USER)[-2:] if t.startswith("🤝 ")]
    assert to_vi.startswith(
        "🤝 " + vi("Our staff propose to introduce you to:") + "\n" + TW_OFFER["title"] + " · " + tw_org
    )
    assert vi("This concerns your entry “{title}”.").format(title=need.draft["title"]) in to_vi
    assert to_vi.endswith(vi("Staff will arrange a meeting; reply here to ask them anything."))  # the ticket is theirs
    (to_tw,) = [t for t in bot_texts(live, TW_USER)[-2:] if t.startswith("🤝 ")]
    assert to_tw.startswith(  # the need's title in English, which they read
        "🤝 " + tw("Our staff propose to introduce you to:") + "\n" + VI_NEED["title_en"] + " · " + vi_org
    )
    assert to_tw.endswith(
        tw("Staff will contact you to arrange a meeting. To reach them, tap Talk to staff in /start.")
    )
    # a second tap does not open a second ticket
    await live.emulator.press(STAFF_ID, message, b["callback_data"])
    await live.settle()
    assert len(await live.services.store.tickets(Ticket.user_id == VI_USER)) == 1

    # staff make the introduction: both sides hear whom they were introduced to
    vi_since, tw_since = last_id(live, VI_USER), last_id(live, TW_USER)
    await staff_says(live, "/introduce 1", ticket)  # the offer, first in the ticket
    (to_vi,) = bot_texts(live, VI_USER, since=vi_since)
    assert to_vi.startswith("🤝 " + vi("Staff have introduced you to:") + "\n" + TW_OFFER["title"] + " · " + tw_org)
    assert to_vi.endswith(vi("Staff will arrange a meeting; reply here to ask them anything."))
    (to_tw,) = bot_texts(live, TW_USER, since=tw_since)
    assert to_tw.startswith("🤝 " + tw("Staff have introduced you to:") + "\n" + VI_NEED["title_en"] + " · " + vi_org)
    assert tw("This concerns your entry “{title}”.").format(title=TW_OFFER["title"]) in to_tw
    assert tw("Staff will contact you to arrange a meeting. To reach them, tap Talk to staff in /start.") in to_tw


async def test_an_unrelated_need_gets_no_match_notice(live):
    entry = {
        "title": "Phần mềm kế toán cho doanh nghiệp nhỏ",
        "description": "Cần phần mềm kế toán và hóa đơn điện tử cho công ty thương mại 15 nhân viên.",
        "contact": VI_NEED["contact"],
    }
    submission = await publish(live, VI_USER, "request", entry, "vi", sector="none")
    assert await live.services.store.rows(Match, Match.record_id == submission.record_id) == []


# ----------------------------------------------------------------------------- /mine, expiry


async def test_expiry_reminder_renewal_and_withdrawal(live):
    _ = gettext_for("vi")
    clock, settings = live.services.clock, live.services.settings
    submission = await publish(live, VI_USER, "request", VI_NEED, "vi", deadline="d-none")
    query = "hệ thống nuôi tôm tuần hoàn RAS"
    assert await found(live, EN_USER, query, submission.record_id)
    job = next(j for j in live.app.job_queue.jobs() if j.name == "remind_expiring")

    clock.advance(timedelta(days=settings.entry_days - settings.expiry_notice_days))
    since = last_id(live, VI_USER)
    await job.run(live.app)
    await live.settle()
    await job.run(live.app)  # a second run the same week says nothing more
    await live.settle()
    reminders = bot_texts(live, VI_USER, since=since)
    assert len(reminders) == 1 and VI_NEED["title"] in reminders[0]

    clock.advance(timedelta(days=settings.expiry_notice_days + 1))  # expired yesterday
    assert not await found(live, EN_USER, query, submission.record_id)
    await say(live, VI_USER, "/mine")
    expired = (await live.services.catalog.get(submission.record_id)).expires_at
    assert _("expired on {date}").format(date="")[:6] in bot_texts(live, VI_USER)[-1]
    await press(live, VI_USER, "renew")  # the reminder's button still works after expiry
    record = await live.services.catalog.get(submission.record_id)
    assert record.expires_at == clock.today() + timedelta(days=settings.entry_days) > expired
    assert await found(live, EN_USER, query, submission.record_id)

    await say(live, VI_USER, "/mine")
    await press(live, VI_USER, "open")
    await press(live, VI_USER, "withdraw")
    await press(live, VI_USER, "gone")
    assert (await live.services.catalog.get(submission.record_id)).status == "withdrawn"
    assert not await found(live, EN_USER, query, submission.record_id)
    # the index relabelled the entry instead of embedding it again
    assert live.services.engine.store.records[submission.record_id]["status"] == "withdrawn"


@pytest.mark.parametrize("language_code, language", [("vi", "vi"), ("zh-hant", "zh-Hant")])
async def test_renew_says_when_it_is_not_due_and_a_deadline_bounds_the_listing(live, language_code, language):
    _, n_ = gettext_for(language), plural_for(language)
    clock, settings, catalog = live.services.clock, live.services.settings, live.services.catalog
    today = clock.today()
    offer = await publish(live, TW_USER, "offer", TW_OFFER, language_code)
    deadline = today + timedelta(days=settings.entry_days + 100)
    need = await publish(live, TW_USER, "request", VI_NEED, language_code, deadline=deadline.strftime("%d/%m/%Y"))
    listed = today + timedelta(days=settings.entry_days)
    assert (await catalog.get(offer.record_id)).expires_at == listed
    assert (await catalog.get(need.record_id)).expires_at == deadline  # not cut short at entry_days

    await say(live, TW_USER, "/mine")
    await tap(live, TW_USER, f"my:{offer.id}:open")
    since = last_id(live, TW_USER)
    await tap(live, TW_USER, f"my:{offer.id}:renew")  # a fresh entry: not due yet, and the user is told so
    not_due = n_(
        "“{title}” stays online until {date}. You can renew it from {days} day before then; I will remind you.",
        "“{title}” stays online until {date}. You can renew it from {days} days before then; I will remind you.",
        settings.expiry_notice_days,
    )
    assert bot_texts(live, TW_USER, since=since) == [
        not_due.format(title=TW_OFFER["title"], date=long_date(listed, language), days=settings.expiry_notice_days)
    ]
    assert (await catalog.get(offer.record_id)).expires_at == listed

    await say(live, TW_USER, "/mine")
    await tap(live, TW_USER, f"my:{need.id}:open")
    since = last_id(live, TW_USER)
    await tap(live, TW_USER, f"my:{need.id}:renew")
    bounded = _("“{title}” stays online until its deadline, {date}. To keep it online longer, edit the deadline.")
    assert bot_texts(live, TW_USER, since=since) == [
        bounded.format(title=need.draft["title"], date=long_date(deadline, language))
    ]
    assert (await catalog.get(need.record_id)).expires_at == deadline

    job = next(j for j in live.app.job_queue.jobs() if j.name == "remind_expiring")
    clock.advance(timedelta(days=settings.entry_days - settings.expiry_notice_days + 1))
    since = last_id(live, TW_USER)
    await job.run(live.app)
    await live.settle()
    (reminder,) = bot_texts(live, TW_USER, since=since)  # the offer's end is near; the need's is not
    assert TW_OFFER["title"] in reminder and long_date(listed, language) in reminder
    await tap(live, TW_USER, f"my:{offer.id}:renew")  # due now: renewed
    renewed = clock.today() + timedelta(days=settings.entry_days)
    assert (await catalog.get(offer.record_id)).expires_at == renewed
    assert bot_texts(live, TW_USER)[-1] == _("Renewed: “{title}” stays online until {date}.").format(
        title=TW_OFFER["title"], date=long_date(renewed, language)
    )

    clock.advance(timedelta(days=(deadline - clock.today()).days - 3))
    since = last_id(live, TW_USER)
    await job.run(live.app)
    await live.settle()
    message = live.emulator.messages(TW_USER, from_bot=True)[-1]
    assert message["message_id"] > since and message["text"] == _(
        "Your entry “{title}” reaches its deadline on {date} and will then leave search results. "
        "If you still need it, edit the deadline to keep it online."
    ).format(title=need.draft["title"], date=long_date(deadline, language))
    assert [b["callback_data"] for b in buttons(message)] == [f"my:{need.id}:edit"]
