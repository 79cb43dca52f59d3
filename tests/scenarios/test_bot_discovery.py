"""Technology discovery as users meet it: the real bot polling the Bot API emulator over HTTP.

Four users, one per UI language: Vietnamese (``vi``), Traditional Chinese (``zh-tw``),
Simplified Chinese (``zh-hans``) and English. UI words are looked up with ``gettext_for``
rather than written out, so the tests follow the translations as they are written; what a
test expects from the catalogue (titles, countries, sectors) comes from the sample data.
"""

from __future__ import annotations

import asyncio
import unicodedata

from bot.demo import buttons
from bot.i18n import LANGUAGE_NAMES, gettext_for
from bot.render import KIND_LABELS, MAX_MESSAGE, PARTNERSHIP_LABELS, listing, maturity_label, pick, shorten
from catalog.language import LANGUAGES
from catalog.taxonomy import country_name, sector_label

VI, HANT, HANS, EN = 310001, 310002, 310003, 310004
PEOPLE = {  # user id: (first name, Telegram language_code, UI language)
    VI: ("Minh", "vi", "vi"),
    HANT: ("美玲", "zh-tw", "zh-Hant"),
    HANS: ("伟", "zh-hans", "zh-Hans"),
    EN: ("Anna", "en", "en"),
}
GROUP = -1002000000042
WRONG = "Sorry, something went wrong on our side. Please try again in a moment."


def T(language: str):
    return gettext_for(language)


def lang_of(user_id: int) -> str:
    return PEOPLE[user_id][2]


def meet(live, *user_ids: int) -> None:
    for user_id in user_ids:
        name, code, _lang = PEOPLE[user_id]
        live.emulator.user(user_id, name, code)


async def say(live, user_id: int, text: str, **kwargs) -> list[dict]:
    """The user sends ``text``; the bot messages and edits that followed, once the bot is idle."""
    mark = live.emulator.mark()
    await live.emulator.send_text(user_id, text, **kwargs)
    await live.settle()
    return live.emulator.events_since(mark)


async def tap(live, user_id: int, message: dict, data: str) -> tuple[list[dict], dict | None]:
    """The user presses the button ``data`` of ``message``: (bot messages and edits, the callback answer)."""
    mark = live.emulator.mark()
    query = await live.emulator.press(user_id, message, data)
    await live.settle()
    return live.emulator.events_since(mark), answer_to(live, query)


async def forge(live, user_id: int, message: dict, data: str) -> tuple[list[dict], dict | None]:
    """Like :func:`tap` with callback data no button carried (a modified client can send any).

    The emulator only lets users press buttons that exist, so a button with ``data`` is put
    on the stored message for the moment of the press.
    """
    stored = next(m for m in live.emulator.messages(message["chat"]["id"]) if m["message_id"] == message["message_id"])
    had_markup = "reply_markup" in stored
    rows = stored.setdefault("reply_markup", {"inline_keyboard": []})["inline_keyboard"]
    rows.append([{"text": "forged", "callback_data": data}])
    try:
        return await tap(live, user_id, stored, data)
    finally:
        rows.pop()
        if not had_markup:
            del stored["reply_markup"]


def answer_to(live, query: dict) -> dict | None:
    return next((a for a in live.emulator.callback_answers if a.get("callback_query_id") == query["id"]), None)


def bot_messages(live, chat_id: int) -> list[dict]:
    return live.emulator.messages(chat_id, from_bot=True)


def text_of(message: dict) -> str:
    return message.get("text") or message.get("caption") or ""


def button_with(message: dict, label: str) -> dict:
    found = [b for b in buttons(message) if label in b["text"] and "callback_data" in b]
    assert found, f"no button {label!r} in {[b['text'] for b in buttons(message)]}"
    return found[0]


def has_button(message: dict, label: str) -> bool:
    return any(label in b["text"] for b in buttons(message))


def search_id(message: dict) -> int:
    for b in buttons(message):
        action, _, rest = b.get("callback_data", "").partition(":")
        if action in ("det", "page", "like", "filt"):
            return int(rest.split(":")[0])
    raise AssertionError(f"not a results message: {text_of(message)[:200]!r}")


async def hit_ids(live, message: dict) -> list[str]:
    search = await live.services.store.search(search_id(message))
    return [hit[0] for hit in search.hits]


async def record(live, record_id: str):
    found = await live.services.catalog.get(record_id)
    assert found is not None, record_id
    return found


def header(language: str, query: str) -> str:
    return T(language)("Results for “{query}”").format(query=query)


async def all_cards(live, user_id: int, message: dict) -> list[str]:
    """Every result of a results message, by pressing Next until there is none (the same message each time)."""
    _ = T(lang_of(user_id))
    texts = [text_of(message)]
    while has_button(message, _("Next")):
        events, _answer = await tap(live, user_id, message, button_with(message, _("Next"))["callback_data"])
        assert len(events) == 1 and events[0]["message_id"] == message["message_id"], events
        message = events[0]
        texts.append(text_of(message))
    return texts


def assert_no_error_reply(live) -> None:
    for params in live.emulator.calls_to("sendMessage"):
        for language in ("en", "vi", "zh-Hant", "zh-Hans"):
            assert T(language)(WRONG) not in params.get("text", ""), params


# ---------------------------------------------------------------- welcome, menu, help


async def test_start_welcomes_each_user_in_their_language_with_the_menu(live):
    meet(live, *PEOPLE)
    for user_id, (name, _code, language) in PEOPLE.items():
        _ = T(language)
        events = await say(live, user_id, "/start")
        assert len(events) == 1, events
        welcome = events[0]
        assert welcome["chat"]["id"] == user_id
        greeting = _(
            "Hello {name}! I am TechConnect, the technology supply–demand connection assistant of "
            "Hai Phong's Department of Science and Technology."
        ).format(name=name)
        assert greeting in text_of(welcome)
        labels = [b["text"] for b in buttons(welcome)]
        for label in (_("Find technology"), _("Find partners for my technology"), _("Language"), _("Help")):
            assert any(label in text for text in labels), (label, labels)


async def test_menu_find_technology_then_search_finds_offers_only(live):
    meet(live, EN)
    _ = T("en")
    (welcome,) = await say(live, EN, "/start")
    events, answer = await tap(live, EN, welcome, button_with(welcome, _("Find technology"))["callback_data"])
    assert answer is not None
    assert _("Describe the technology you are looking for, in a few words.") in text_of(events[-1])
    (results,) = await say(live, EN, "wastewater treatment")
    assert f"({_('offers')})" in text_of(results)
    kinds = {(await record(live, rid)).kind for rid in await hit_ids(live, results)}
    assert kinds == {"offer"}


# ---------------------------------------------------------------- searching, paging, details


SEARCHES = [  # user, query, a record expected among the first three hits
    (VI, "xử lý nước thải nuôi tôm", "vn-water-001"),
    (HANT, "石斑魚 種苗", "tw-aqua-001"),
    (HANS, "石斑鱼人工繁殖", "tw-aqua-001"),
    (EN, "wastewater treatment", "req-vn-hp-water-001"),
]


async def test_search_answers_with_a_card_and_its_buttons_in_each_language(live):
    meet(live, *PEOPLE)
    for user_id, query, expected in SEARCHES:
        language = lang_of(user_id)
        _ = T(language)
        events = await say(live, user_id, query)
        assert len(events) == 1, [text_of(e) for e in events]
        results = events[0]
        text = text_of(results)
        assert text.startswith(header(language, query)), text
        ids = await hit_ids(live, results)
        assert expected in ids[:5], (query, ids)
        first = await record(live, ids[0])
        title, _title_language = pick(first.title, language, first.language)
        assert f"1/{len(ids)} · {title}" in text
        assert country_name(first.country, language) in text
        assert sector_label(first.sector, language) in text
        assert _(KIND_LABELS[first.kind]) in text
        for label in (_("Details"), _("More like this"), _("Next"), _("Filters")):
            assert has_button(results, label), (language, label)
        assert not has_button(results, _("Previous"))
        for contact in first.contact.values():
            assert contact not in text


async def test_next_and_previous_edit_the_same_message(live):
    meet(live, EN)
    _ = T("en")
    (results,) = await say(live, EN, "wastewater treatment")
    ids = await hit_ids(live, results)
    assert len(ids) >= 3, ids
    titles = [(await record(live, rid)).title.get("en") for rid in ids[:3]]
    before = len(bot_messages(live, EN))

    events, answer = await tap(live, EN, results, button_with(results, _("Next"))["callback_data"])
    assert answer is not None and not answer.get("show_alert")
    assert len(events) == 1 and events[0]["message_id"] == results["message_id"] and "edit_date" in events[0]
    second = events[0]
    assert f"2/{len(ids)} · " in text_of(second)
    if titles[1]:
        assert titles[1] in text_of(second)
    assert has_button(second, _("Previous")) and has_button(second, _("Next"))

    events, _answer = await tap(live, EN, second, button_with(second, _("Next"))["callback_data"])
    third = events[0]
    assert third["message_id"] == results["message_id"] and f"3/{len(ids)} · " in text_of(third)

    events, _answer = await tap(live, EN, third, button_with(third, _("Previous"))["callback_data"])
    assert text_of(events[0]) == text_of(second)
    events, _answer = await tap(live, EN, events[0], button_with(events[0], _("Previous"))["callback_data"])
    assert text_of(events[0]) == text_of(results)
    assert not has_button(events[0], _("Previous"))

    assert len(bot_messages(live, EN)) == before  # paging never sent a new message
    assert len(live.emulator.calls_to("editMessageText")) == 4


async def test_paging_reaches_the_last_result_which_has_no_next(live):
    meet(live, VI)
    _ = T("vi")
    (results,) = await say(live, VI, "xử lý nước thải nuôi tôm")
    ids = await hit_ids(live, results)
    cards = await all_cards(live, VI, results)
    assert len(cards) == len(ids) >= 2
    last = bot_messages(live, VI)[-1]
    assert f"{len(ids)}/{len(ids)} · " in text_of(last)
    assert has_button(last, _("Previous")) and not has_button(last, _("Next"))
    shown = [c.split("\n\n", 1)[1].split("\n", 1)[0] for c in cards]  # "n/N · title" lines
    assert len(set(shown)) == len(ids)  # every result once


async def test_details_show_the_whole_entry_but_never_the_staff_contact(live):
    meet(live, HANT, VI)
    for user_id, query in [(HANT, "石斑魚 種苗"), (VI, "xử lý nước thải nuôi tôm")]:
        await _check_details(live, user_id, query)


async def _check_details(live, user_id: int, query: str) -> None:
    language = lang_of(user_id)
    _ = T(language)
    (results,) = await say(live, user_id, query)
    ids = await hit_ids(live, results)
    message = results
    for position in (1, 2):
        entry = await record(live, ids[position - 1])
        events, answer = await tap(live, user_id, message, button_with(message, _("Details"))["callback_data"])
        assert answer is not None and not answer.get("show_alert")
        assert len(events) == 1 and events[0]["message_id"] != results["message_id"]  # a new message
        details = text_of(events[0])
        title, _lang = pick(entry.title, language, entry.language)
        description, _lang = pick(entry.description, language, entry.language)
        assert title in details
        assert " ".join(description.split()) in " ".join(details.split())  # the whole description
        assert _("Organisation: {name}").format(name=entry.organization) in details
        assert has_button(events[0], _("More like this"))
        assert entry.trl, "sample entries have a maturity"
        words, number = _(maturity_label(entry.trl)), _("TRL {trl}").format(trl=entry.trl)
        assert words in text_of(message) and number not in text_of(message)  # the result card: plain words
        assert f"{words} ({number})" in details  # the number too, in Details
        kinds = listing([_(PARTNERSHIP_LABELS[p]) for p in entry.partnership], language)
        assert (
            len(entry.partnership) > 1 and _("Partnership: {kinds}").format(kinds=kinds) in details
        )  # "A、B和C", "A, B và C"
        assert entry.contact.get("email") and entry.contact["email"] not in details
        for value in entry.contact.values():
            assert value not in details
        assert "@example.com" not in details
        if position == 1:
            events, _answer = await tap(live, user_id, results, button_with(results, _("Next"))["callback_data"])
            message = events[0]


async def test_more_like_this_sends_similar_entries_without_the_entry_itself(live):
    meet(live, HANT)
    _ = T("zh-Hant")
    (results,) = await say(live, HANT, "石斑魚 種苗")
    source = (await hit_ids(live, results))[0]
    events, _answer = await tap(live, HANT, results, button_with(results, _("More like this"))["callback_data"])
    assert len(events) == 1 and events[0]["message_id"] != results["message_id"]
    similar = await hit_ids(live, events[0])
    assert similar and source not in similar
    sectors = [(await record(live, rid)).sector for rid in similar[:3]]
    assert "aquaculture" in sectors  # grouper seed production resembles other aquaculture


async def test_more_like_this_is_headed_by_the_entry_it_resembles(live):
    meet(live, HANT, VI)
    for user_id, query in ((HANT, "石斑魚 種苗"), (VI, "xử lý nước thải nuôi tôm")):
        language = lang_of(user_id)
        _ = T(language)
        (results,) = await say(live, user_id, query)
        source = await record(live, (await hit_ids(live, results))[0])
        events, _answer = await tap(live, user_id, results, button_with(results, _("More like this"))["callback_data"])
        similar = events[0]
        title = pick(source.title, language, source.language)[0]
        heading = _("Entries like “{title}”").format(title=shorten(title, 80))
        assert text_of(similar).startswith(heading), text_of(similar)
        assert header(language, title) not in text_of(similar)
        # paged, and filtered, it is still the entry's neighbours
        events, _answer = await tap(live, user_id, similar, button_with(similar, _("Next"))["callback_data"])
        assert text_of(events[0]).startswith(heading)
        refined = await choose(live, user_id, events[0], f"fk:{search_id(similar)}:offer")
        assert text_of(refined).startswith(heading) and f"({_('offers')})" in text_of(refined)
        ids = await hit_ids(live, refined)
        assert ids and source.id not in ids
        assert {(await record(live, rid)).kind for rid in ids} == {"offer"}
    assert_no_error_reply(live)


# ---------------------------------------------------------------- filters


async def choose(live, user_id: int, message: dict, data: str) -> dict:
    """Open Filters on a results message and press the filter ``data``; the results message after it."""
    _ = T(lang_of(user_id))
    events, answer = await tap(live, user_id, message, button_with(message, _("Filters"))["callback_data"])
    assert answer is not None and not answer.get("show_alert")
    assert len(events) == 1 and events[0]["message_id"] == message["message_id"]
    keyboard = events[0]
    assert any(b["callback_data"] == data for b in buttons(keyboard)), [b["callback_data"] for b in buttons(keyboard)]
    events, answer = await tap(live, user_id, keyboard, data)
    assert answer is not None and not answer.get("show_alert")
    assert len(events) == 1 and events[0]["message_id"] == message["message_id"]
    return events[0]


async def test_filters_kind_sector_country_every_result_matches(live):
    meet(live, VI)
    language = "vi"
    _ = T(language)
    query = "hệ thống xử lý nước thải"
    (results,) = await say(live, VI, query)
    unfiltered = await hit_ids(live, results)
    kinds = {(await record(live, rid)).kind for rid in unfiltered}
    assert kinds == {"offer", "request"}, "the query should find both kinds before filtering"

    # the filter keyboard, in Vietnamese
    events, _answer = await tap(live, VI, results, button_with(results, _("Filters"))["callback_data"])
    keyboard = events[0]
    for label in (_("Offers"), _("Requests"), sector_label("water_treatment", language), country_name("VN", language)):
        assert has_button(keyboard, label), label
    events, _answer = await tap(live, VI, keyboard, button_with(keyboard, _("Back to results"))["callback_data"])
    results = events[0]
    assert results["message_id"] == keyboard["message_id"] and has_button(results, _("Details"))

    sid = search_id(results)
    results = await choose(live, VI, results, f"fk:{sid}:request")
    assert f"({_('requests')})" in text_of(results)
    ids = await hit_ids(live, results)
    assert ids and [(await record(live, rid)).kind for rid in ids] == ["request"] * len(ids)
    for card in await all_cards(live, VI, results):
        assert _(KIND_LABELS["request"]) in card and _(KIND_LABELS["offer"]) not in card
    results = bot_messages(live, VI)[-1]

    results = await choose(live, VI, results, f"fs:{search_id(results)}:water_treatment")
    label = sector_label("water_treatment", language)
    assert label in text_of(results).split("\n")[0]  # in the header's filter summary
    ids = await hit_ids(live, results)
    assert ids
    for rid in ids:
        entry = await record(live, rid)
        assert (entry.kind, entry.sector) == ("request", "water_treatment"), rid
    for card in await all_cards(live, VI, results):
        assert label in card and _(KIND_LABELS["request"]) in card
    results = bot_messages(live, VI)[-1]

    results = await choose(live, VI, results, f"fc:{search_id(results)}:VN")
    viet_nam = country_name("VN", language)
    assert viet_nam in text_of(results).split("\n")[0]
    ids = await hit_ids(live, results)
    assert ids
    for rid in ids:
        entry = await record(live, rid)
        assert (entry.kind, entry.sector, entry.country) == ("request", "water_treatment", "VN"), rid
    for card in await all_cards(live, VI, results):
        assert viet_nam in card and label in card

    # tapping the ticked kind again lifts the kind filter and keeps the others
    results = bot_messages(live, VI)[-1]
    results = await choose(live, VI, results, f"fk:{search_id(results)}:*")
    ids = await hit_ids(live, results)
    entries = [await record(live, rid) for rid in ids]
    assert {e.kind for e in entries} == {"offer", "request"}
    assert all((e.sector, e.country) == ("water_treatment", "VN") for e in entries)
    assert_no_error_reply(live)


def keyboard_rows(message: dict) -> list[list[dict]]:
    return message["reply_markup"]["inline_keyboard"]


def ticked(message: dict) -> list[str]:
    return [b["text"] for b in buttons(message) if b["text"].startswith("✅ ")]


async def test_the_filter_keyboard_is_compact_ticks_active_choices_and_a_second_tap_lifts_them(live):
    meet(live, VI, HANT)
    for user_id, query, sector in (
        (VI, "hệ thống xử lý nước thải", "water_treatment"),
        (HANT, "石斑魚 種苗", "aquaculture"),
    ):
        language = lang_of(user_id)
        _ = T(language)
        (results,) = await say(live, user_id, query)
        events, _answer = await tap(live, user_id, results, button_with(results, _("Filters"))["callback_data"])
        keyboard = events[0]
        assert len(keyboard_rows(keyboard)) <= 7 and ticked(keyboard) == []
        assert not has_button(keyboard, _("Clear filters"))
        assert [b["text"] for b in keyboard_rows(keyboard)[0]] == [_("Offers"), _("Requests")]  # kind, then sectors
        assert len(keyboard_rows(keyboard)[1]) == 3 and has_button(keyboard, sector_label(sector, language))

        events, _answer = await tap(live, user_id, keyboard, f"fs:{search_id(results)}:{sector}")
        results = await choose(live, user_id, events[0], f"fk:{search_id(events[0])}:offer")
        events, _answer = await tap(live, user_id, results, button_with(results, _("Filters"))["callback_data"])
        keyboard = events[0]
        assert len(keyboard_rows(keyboard)) <= 7
        assert sorted(ticked(keyboard)) == sorted(["✅ " + _("Offers"), "✅ " + sector_label(sector, language)])
        sid = search_id(keyboard)
        assert button_with(keyboard, "✅ " + _("Offers"))["callback_data"] == f"fk:{sid}:*"  # a second tap lifts it
        assert button_with(keyboard, "✅ " + sector_label(sector, language))["callback_data"] == f"fs:{sid}:*"

        # tapping the ticked sector lifts it and keeps the kind
        events, _answer = await tap(live, user_id, keyboard, f"fs:{sid}:*")
        results = events[0]
        search = await live.services.store.search(search_id(results))
        assert (search.kind, search.sector) == ("offer", None)
        # Clear filters lifts them all
        results = await choose(live, user_id, results, f"fx:{search_id(results)}")
        search = await live.services.store.search(search_id(results))
        assert (search.kind, search.sector, search.country) == (None, None, None)
        assert text_of(results).split("\n")[0] == header(language, query)  # no filter summary
    assert_no_error_reply(live)


async def test_a_filter_that_leaves_nothing_says_so_and_can_be_undone(live):
    meet(live, EN)
    _ = T("en")
    (results,) = await say(live, EN, "grouper breeding")
    results = await choose(live, EN, results, f"fs:{search_id(results)}:semiconductors")
    assert _(
        "No good match. Try other or fewer words, or another language; filters may also be too narrow."
    ) in text_of(results)
    assert not has_button(results, _("Details"))
    results = await choose(live, EN, results, f"fs:{search_id(results)}:*")
    assert "tw-aqua-001" in await hit_ids(live, results)


# ---------------------------------------------------------------- language


async def test_language_command_switches_later_replies(live):
    meet(live, EN)
    (menu,) = await say(live, EN, "/language")
    assert T("en")("Choose your language:") in text_of(menu)
    assert [b["text"] for b in buttons(menu)] == [("✅ " if c == "en" else "") + LANGUAGE_NAMES[c] for c in LANGUAGES]

    events, answer = await tap(live, EN, menu, button_with(menu, "Tiếng Việt")["callback_data"])
    _ = T("vi")
    assert answer is not None
    assert events[0]["message_id"] == menu["message_id"]
    assert text_of(events[0]) == _("Language set to {language}.").format(language="Tiếng Việt")
    assert _("How to use TechConnect") in text_of(events[1])
    assert has_button(events[1], _("Find technology"))

    query = "xử lý nước thải nuôi tôm"
    (results,) = await say(live, EN, query)
    assert text_of(results).startswith(header("vi", query))
    assert has_button(results, _("Details")) and has_button(results, _("Filters"))

    # and on to Traditional Chinese, through the menu's Language button
    (welcome,) = await say(live, EN, "/start")
    events, _answer = await tap(live, EN, welcome, button_with(welcome, _("Language"))["callback_data"])
    events, _answer = await tap(live, EN, events[0], button_with(events[0], LANGUAGE_NAMES["zh-Hant"])["callback_data"])
    (help_reply,) = await say(live, EN, "/help")
    assert T("zh-Hant")("How to use TechConnect") in text_of(help_reply)
    assert (await live.services.store.user(EN)).language == "zh-Hant"


async def test_a_user_without_language_code_is_answered_in_the_language_they_write(live):
    live.emulator.user(VI, "Minh")  # Telegram sent no language_code
    notice, results = await say(live, VI, "xu ly nuoc thai nuoi tom")
    assert text_of(notice) == T("vi")("I will answer in {language}.").format(language=LANGUAGE_NAMES["vi"])
    assert text_of(results).startswith(header("vi", "xu ly nuoc thai nuoi tom"))
    assert has_button(results, T("vi")("Details"))


# ---------------------------------------------------------------- what the bot cannot answer


NO_MATCH = "No good match. Try other or fewer words, or another language; filters may also be too narrow."


async def test_an_off_topic_query_gets_the_honest_no_match_text(live):
    meet(live, VI, EN, HANS)
    for user_id, query in [(VI, "cách nấu phở bò ngon"), (EN, "asdfgh qwerty"), (HANS, "今天天气怎么样")]:
        language = lang_of(user_id)
        _ = T(language)
        events = await say(live, user_id, query)
        assert len(events) == 1, query
        text = text_of(events[0])
        assert text.startswith(header(language, query))
        assert _(NO_MATCH) in text, query
        assert not has_button(events[0], _("Details")) and not has_button(events[0], _("Next"))
        assert has_button(events[0], _("Filters"))
        assert await hit_ids(live, events[0]) == []


async def test_non_text_input_gets_one_short_reply(live):
    meet(live, HANT)
    _ = T("zh-Hant")
    expected = _(
        "I can only read text. Describe the technology you need or offer in a few words, or use /start for the menu."
    )
    for kind in ("photo", "sticker", "voice", "location", "document"):
        mark = live.emulator.mark()
        await live.emulator.send_media(HANT, kind, caption="石斑魚" if kind in ("photo", "document") else None)
        await live.settle()
        events = live.emulator.events_since(mark)
        assert [text_of(e) for e in events] == [expected], kind
    assert len(expected) < 300
    assert_no_error_reply(live)


async def test_an_over_long_message_is_answered_and_no_message_exceeds_telegram_limits(live):
    meet(live, VI)
    _ = T("vi")
    words = [
        "hệ",
        "thống",
        "xử",
        "lý",
        "nước",
        "thải",
        "nuôi",
        "tôm",
        "tuần",
        "hoàn",
        "tiết",
        "kiệm",
        "năng",
        "lượng",
        "cho",
        "hợp",
        "tác",
        "xã",
    ]
    long_text = ""
    while len(long_text) < 4000:
        long_text += words[len(long_text.split()) % len(words)] + " "
    long_text = long_text[:4000]
    events = await say(live, VI, long_text)
    assert len(events) == 2, [text_of(e)[:80] for e in events]
    notice, results = events
    assert _("Your message is long; I searched with its first {count} characters. Short queries work best.").format(
        count=500
    ) == text_of(notice)
    assert has_button(results, _("Details"))
    assert len(text_of(results).split("\n", 1)[0]) < 200  # the header quotes the query shortened

    # paging and details of that search stay within the limits too
    events, _answer = await tap(live, VI, results, button_with(results, _("Details"))["callback_data"])
    for method in ("sendMessage", "editMessageText"):
        for params in live.emulator.calls_to(method):
            assert len(params["text"]) <= MAX_MESSAGE, (method, len(params["text"]))
    assert_no_error_reply(live)


async def test_markup_characters_in_a_query_are_shown_as_typed(live):
    meet(live, EN)
    query = "<b>shrimp</b> & grouper <hatchery>"
    events = await say(live, EN, query)
    assert len(events) == 1
    assert text_of(events[0]).startswith(header("en", query))
    assert_no_error_reply(live)


# ---------------------------------------------------------------- forged and stale buttons


async def test_forged_callback_data_gets_a_polite_alert_and_no_error(live):
    meet(live, VI, EN)
    (theirs,) = await say(live, EN, "wastewater treatment")
    (mine,) = await say(live, VI, "xử lý nước thải nuôi tôm")
    mine_id, theirs_id = search_id(mine), search_id(theirs)
    before = text_of(mine), buttons(mine)
    invalid = T("vi")("This button is no longer valid. Please search again.")
    for data in [
        "det:99999:1",  # no such search
        "page:abc",  # not a number
        f"det:{theirs_id}:1",  # another user's search
        f"page:{theirs_id}:2",
        f"fk:{theirs_id}:request",
        f"det:{mine_id}:999",  # beyond the results
        f"page:{mine_id}:0",
        f"det:{mine_id}",  # no position
        f"like:{mine_id}:-1",
        f"fk:{mine_id}:everything",  # not a kind
        f"fs:{mine_id}:cooking",  # not a sector
        f"fc:{mine_id}:vn",  # not a country code
        f"filt:{mine_id}:1",
    ]:
        events, answer = await forge(live, VI, mine, data)
        assert answer is not None, f"{data}: unanswered"
        assert answer.get("show_alert") is True and answer.get("text") == invalid, (data, answer)
        assert events == [], (data, [text_of(e) for e in events])
    current = next(m for m in bot_messages(live, VI) if m["message_id"] == mine["message_id"])
    assert (text_of(current), buttons(current)) == before  # nothing was edited
    assert_no_error_reply(live)


async def test_a_search_id_too_big_for_the_database_is_just_invalid(live):
    meet(live, VI)
    (mine,) = await say(live, VI, "xử lý nước thải nuôi tôm")
    events, answer = await forge(live, VI, mine, "page:99999999999999999999:1")
    assert answer is not None and answer.get("show_alert") is True
    assert events == []
    assert_no_error_reply(live)


async def test_callback_data_of_no_known_button_is_answered(live):
    meet(live, EN)
    (results,) = await say(live, EN, "wastewater treatment")
    for data in ("zz", "menu:bogus", "x:1:2"):
        events, answer = await forge(live, EN, results, data)
        assert events == []
        assert answer is not None, f"{data}: unanswered"
        assert answer.get("show_alert") is True
    assert_no_error_reply(live)


async def test_a_forged_language_choice_changes_nothing(live):
    meet(live, VI)
    (menu,) = await say(live, VI, "/language")
    events, answer = await forge(live, VI, menu, "lang:xx")
    assert answer is not None and events == []
    assert (await live.services.store.user(VI)).language == "vi"
    assert_no_error_reply(live)


# ---------------------------------------------------------------- groups


async def test_in_a_group_only_mentions_and_commands_are_answered(live):
    meet(live, VI, EN)
    live.emulator.group(GROUP, "Hội doanh nghiệp thủy sản Hải Phòng", members=[VI, EN])
    _ = T("vi")

    await say(live, VI, "xử lý nước thải nuôi tôm", chat_id=GROUP)
    await say(live, VI, "chào mọi người", chat_id=GROUP)
    mark = live.emulator.mark()
    await live.emulator.send_media(VI, "photo", chat_id=GROUP)
    await live.settle()
    assert live.emulator.events_since(mark) == []
    assert bot_messages(live, GROUP) == []

    events = await say(live, VI, "@techconnect_bot xử lý nước thải nuôi tôm", chat_id=GROUP)
    assert len(events) == 1 and events[0]["chat"]["id"] == GROUP
    results = events[0]
    assert text_of(results).startswith(header("vi", "xử lý nước thải nuôi tôm"))  # the mention is not in the query
    assert "vn-water-001" in (await hit_ids(live, results))[:3]

    # another member cannot page someone else's results
    events, answer = await tap(live, EN, results, button_with(results, _("Next"))["callback_data"])
    assert events == [] and answer.get("show_alert") is True
    events, answer = await tap(live, VI, results, button_with(results, _("Next"))["callback_data"])
    assert len(events) == 1 and events[0]["message_id"] == results["message_id"]

    events = await say(live, VI, "/help@techconnect_bot", chat_id=GROUP)
    assert len(events) == 1 and events[0]["chat"]["id"] == GROUP
    assert _("How to use TechConnect") in text_of(events[0])

    events = await say(live, VI, "@techconnect_bot", chat_id=GROUP)
    assert [text_of(e) for e in events] == [_("Write what you are looking for after my name.")]
    assert bot_messages(live, VI) == []  # nothing went to the private chat
    assert_no_error_reply(live)


# ---------------------------------------------------------------- command menus


def assert_menus(live) -> None:
    from bot.ui_language import COMMANDS

    names = [name for name, _description in COMMANDS]
    assert {"start", "help", "language"} <= set(names)
    for code, language in [("", "en"), ("vi", "vi"), ("en", "en"), ("zh", "zh-Hans")]:
        menu = live.emulator.my_commands(language_code=code)
        assert [c["command"] for c in menu] == names, (code, menu)
        assert [c["description"] for c in menu] == [T(language)(d) for _n, d in COMMANDS], (code, menu)
    if T("vi")("Change language") != "Change language":  # once translated, the menus differ
        assert live.emulator.my_commands(language_code="vi") != live.emulator.my_commands()


async def test_the_running_bot_has_localized_command_menus(live):
    await live.settle()
    assert_menus(live)


# ---------------------------------------------------------------- across languages


async def test_a_traditional_chinese_query_finds_a_vietnamese_only_request(live):
    meet(live, HANT)
    target = "req-vn-hd-semi-001"  # written in Vietnamese only
    entry = await record(live, target)
    assert entry.languages() == ["vi"]
    (results,) = await say(live, HANT, "HDI多層印刷電路板生產技術移轉")
    ids = await hit_ids(live, results)
    assert target in ids[:3], ids
    card = next(c for c in await all_cards(live, HANT, results) if entry.title["vi"] in c)
    assert f"({LANGUAGE_NAMES['vi']})" in card  # marked as written in Vietnamese


async def test_a_vietnamese_query_finds_a_traditional_chinese_only_offer(live):
    meet(live, VI)
    target = "tw-semi-004"  # written in Traditional Chinese only
    entry = await record(live, target)
    assert entry.languages() == ["zh-Hant"]
    (results,) = await say(live, VI, "đóng gói flip chip")
    ids = await hit_ids(live, results)
    assert target in ids[:5], ids
    card = next(c for c in await all_cards(live, VI, results) if entry.title["zh-Hant"] in c)
    assert f"({LANGUAGE_NAMES['zh-Hant']})" in card


async def test_single_language_entries_are_found_from_the_other_language_without_shared_words(live):
    meet(live, VI, HANT)
    pairs = [
        (HANT, "一萬二千盞路燈的智慧公共照明控制系統", "req-vn-hp-iot-002"),  # vi only
        (HANT, "觀光船定位、航程監控與安全警報設備", "req-vn-qn-iot-001"),  # vi only
        (
            VI,
            "công nghệ nuôi cấy mô lan hồ điệp và sản xuất hàng loạt cây con trong bình",
            "tw-agri-003",
        ),  # zh-Hant only
        (VI, "dây chuyền chiên chân không và sấy đông khô trái cây nhiệt đới", "tw-food-002"),  # zh-Hant only
    ]
    missed = []
    for user_id, query, target in pairs:
        (results,) = await say(live, user_id, query)
        if target not in (await hit_ids(live, results))[:5]:
            missed.append((query, target))
    assert missed == []


async def test_asked_as_a_question_naming_a_country_finds_that_countrys_offers_first(live):
    meet(live, HANS, VI)
    (results,) = await say(live, HANS, "有没有台湾的半导体设备")  # is there semiconductor equipment from Taiwan?
    ids = await hit_ids(live, results)
    assert ids[:2] and all(i.startswith("tw-") for i in ids[:2]) and "tw-semi-001" in ids[:2], ids
    assert country_name("TW", "zh-Hans") in text_of(results)
    (results,) = await say(live, VI, "có máy sấy lúa nào của Nhật không")
    assert (await hit_ids(live, results))[0] == "jp-agmach-002"  # the Japanese grain dryer


async def test_vietnamese_without_diacritics_or_in_nfd_finds_the_same(live):
    meet(live, VI)
    query = "xử lý nước thải nuôi tôm"
    (accented,) = await say(live, VI, query)
    (bare,) = await say(live, VI, "xu ly nuoc thai nuoi tom")
    (nfd,) = await say(live, VI, unicodedata.normalize("NFD", query))
    first = (await hit_ids(live, accented))[:3]
    assert "vn-water-001" in first
    assert (await hit_ids(live, bare))[:3] == first
    assert (await hit_ids(live, nfd))[:3] == first
    assert text_of(bare).startswith(header("vi", "xu ly nuoc thai nuoi tom"))


# ---------------------------------------------------------------- concurrency


async def test_a_slow_search_does_not_hold_up_another_user(live, monkeypatch):
    meet(live, VI, EN)
    slow_query = "xử lý nước thải nuôi tôm"
    engine = live.services.engine
    search = engine.search

    def slow_search(query, *args, **kwargs):  # runs in the engine's worker thread
        if query == slow_query:
            import time

            time.sleep(2.0)
        return search(query, *args, **kwargs)

    monkeypatch.setattr(engine, "search", slow_search)
    loop = asyncio.get_running_loop()
    mark = live.emulator.mark()
    started = loop.time()
    await live.emulator.send_text(VI, slow_query)
    await asyncio.sleep(0.2)  # the slow search is under way
    await live.emulator.send_text(EN, "/help")
    help_reply = await live.emulator.wait_for(lambda m: m["chat"]["id"] == EN, since=mark, timeout=5)
    help_at = loop.time() - started
    results = await live.emulator.wait_for(lambda m: m["chat"]["id"] == VI, since=mark, timeout=10)
    results_at = loop.time() - started
    await live.settle()
    assert T("en")("How to use TechConnect") in text_of(help_reply)
    assert text_of(results).startswith(header("vi", slow_query))
    assert help_at < 1.0, help_at
    assert results_at >= 2.0 and results_at - help_at > 1.0, (help_at, results_at)


async def test_two_users_searching_at_once_each_get_their_own_results(live):
    meet(live, VI, HANT)
    mark = live.emulator.mark()
    await asyncio.gather(
        live.emulator.send_text(VI, "xử lý nước thải nuôi tôm"),
        live.emulator.send_text(HANT, "石斑魚 種苗"),
    )
    await live.settle()
    events = live.emulator.events_since(mark)
    by_chat = {e["chat"]["id"]: e for e in events}
    assert len(events) == 2 and set(by_chat) == {VI, HANT}
    assert text_of(by_chat[VI]).startswith(header("vi", "xử lý nước thải nuôi tôm"))
    assert text_of(by_chat[HANT]).startswith(header("zh-Hant", "石斑魚 種苗"))
    assert "vn-water-001" in (await hit_ids(live, by_chat[VI]))[:3]
    assert "tw-aqua-001" in (await hit_ids(live, by_chat[HANT]))[:3]
