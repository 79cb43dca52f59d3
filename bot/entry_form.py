"""The fields of an offer or a need posted through the bot: their order, prompts, checks and choices.

Users fill them in one at a time (handlers/submit.py) and staff may correct them before
approving (handlers/review.py); both go through the same checks and the same choice buttons,
and a draft is shown with the same card a published entry gets.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode

from bot.contact import DETAILS
from bot.contact import HINTS as CONTACT_HINTS
from bot.contact import PROMPTS as CONTACT_PROMPTS
from bot.contact import valid as valid_contact
from bot.db import Submission
from bot.i18n import N_, gettext_for
from bot.render import (
    IP_LABELS,
    MATURITY,
    PARTNERSHIP_LABELS,
    SEEKING_LABELS,
    button,
    details,
    fit,
    flag,
    grid,
    long_date,
)
from bot.services import Services
from catalog.language import detect_language
from catalog.model import IP_STATUSES, PARTNERSHIPS, SEEKING, Record
from catalog.taxonomy import SECTORS, country_code, country_name, sector_label

CONTACT_STEPS = DETAILS
STEPS = {
    "request": (
        "title",
        "title_en",
        "description",
        "seeking",
        "sector",
        "country",
        "trl",
        "partnership",
        "deadline",
        *CONTACT_STEPS,
    ),
    "offer": (
        "title",
        "title_en",
        "description",
        "sector",
        "country",
        "trl",
        "partnership",
        "ip_status",
        *CONTACT_STEPS,
    ),
}
TEXT_STEPS = frozenset({"title", "title_en", "description", "country", "deadline", *CONTACT_STEPS})
LIMITS = {"title": (5, 150), "title_en": (5, 150), "description": (20, 2000)}
MONTHS = (1, 3, 6)  # deadline buttons
MAX_DEADLINE_DAYS = 3 * 365
COUNTRIES = ("VN", "TW", "JP", "KR", "IL", "NL", "CN", "SG", "DE", "US", "TH", "FR")
# Plain-language stages, each standing for a technology readiness level.
FIELD_NAMES = {
    "title": N_("Title"),
    "title_en": N_("Title in English"),
    "description": N_("Description"),
    "sector": N_("Sector"),
    "country": N_("Country"),
    "trl": N_("Stage"),
    "partnership": N_("Partnership"),
    "ip_status": N_("Intellectual property"),
    "seeking": N_("Looking for"),
    "deadline": N_("Deadline"),
    "name": N_("Name"),
    "organisation": N_("Organisation"),
    "role": N_("Role"),
    "reach": N_("Phone or e-mail"),
}
PROMPTS = {
    ("request", "title"): N_(
        "What technology do you need? Give it a short title, e.g. “Water recirculation for a shrimp hatchery”."
    ),
    ("offer", "title"): N_(
        "What technology do you offer? Give it a short title, e.g. “Solar dryer for fruit and spices”."
    ),
    ("request", "description"): N_(
        "Describe your need: the problem, your scale (area, output), what you have tried, your budget if known."
    ),
    ("request", "title_en"): N_(
        "Optional: the same title in English. Partners abroad search mostly in English, so it helps them find you."
    ),
    ("offer", "title_en"): N_(
        "Optional: the same title in English. Partners abroad search mostly in English, so it helps them find you."
    ),
    ("offer", "description"): N_(
        "Describe your technology: what it does, results achieved, where it is used, what the partner gets."
    ),
    ("request", "seeking"): N_("What are you looking for?"),
    ("request", "sector"): N_("Which sector is it?"),
    ("offer", "sector"): N_("Which sector is it?"),
    ("request", "country"): N_("In which country do you need it? Tap one or type the name."),
    ("offer", "country"): N_("Which country does the technology come from? Tap one or type the name."),
    ("request", "trl"): N_("How mature should the technology be?"),
    ("offer", "trl"): N_("How mature is your technology?"),
    ("request", "partnership"): N_("What kind of partnership do you want? Tap all that apply, then Done."),
    ("offer", "partnership"): N_("What kind of partnership do you offer? Tap all that apply, then Done."),
    ("offer", "ip_status"): N_("Is the technology protected?"),
    ("request", "deadline"): N_("By when do you need it? Tap one, or type a date like 31/12/2027."),
}
HINTS = {
    "title": N_("Please write a title of 5 to 150 characters."),
    "title_en": N_("Please write the title in English (5 to 150 characters), or tap Skip."),
    "description": N_("Please write a description of 20 to 2,000 characters."),
    "country": N_("I do not know that country. Tap one of the buttons, or write its name, e.g. Vietnam, Taiwan, 日本."),
    "deadline": N_("Please write a future date within three years, like 31/12/2027, or tap a button."),
}
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def in_english(submission: Submission) -> bool:
    return detect_language(submission.draft.get("title") or "") == "en"


def steps(submission: Submission) -> tuple[str, ...]:
    """The fields of this kind of entry; an English title needs no English version."""
    return tuple(step for step in STEPS[submission.kind] if step != "title_en" or not in_english(submission))


def first_missing(submission: Submission, after: str | None = None) -> str:
    """The next step to ask: the one after ``after`` (contact details already known are skipped)."""
    order = STEPS[submission.kind]
    following = order[order.index(after) + 1 :] if after else order
    for step in following:
        if step in steps(submission) and (step not in CONTACT_STEPS or not submission.contact.get(step)):
            return step
    return "confirm"


def previous_step(submission: Submission) -> str | None:
    order = steps(submission)
    if submission.step not in order or order.index(submission.step) == 0:
        return None
    return order[order.index(submission.step) - 1]


def parse_text(step: str, text: str, today: date) -> object | None:
    """The value a typed answer gives ``step``, or None when it does not pass."""
    text = " ".join(text.split()) if step != "description" else text.strip()
    if step in CONTACT_STEPS:
        return valid_contact(step, text)
    if step in LIMITS:
        low, high = LIMITS[step]
        fits = low <= len(text) <= high and (step != "title_en" or detect_language(text) == "en")
        return text if fits else None
    if step == "country":
        return country_code(text)
    if step == "deadline":
        return _deadline(text, today)
    return None


def _deadline(text: str, today: date) -> str | None:
    match = _DATE.match(text)
    try:
        day = date(int(match[3]), int(match[2]), int(match[1])) if match else date.fromisoformat(text)
    except ValueError:
        return None
    return day.isoformat() if today < day <= today + timedelta(days=MAX_DEADLINE_DAYS) else None


def hint(step: str, language: str) -> str:
    _ = gettext_for(language)
    return _(CONTACT_HINTS[step] if step in CONTACT_STEPS else HINTS[step])


def prompt(submission: Submission, language: str) -> str:
    _ = gettext_for(language)
    step = submission.step
    return _(CONTACT_PROMPTS[step] if step in CONTACT_STEPS else PROMPTS[(submission.kind, step)])


def choice(submission: Submission, code: str, today: date) -> tuple[str, object] | None:
    """(field, value) a choice button's code sets on the current step, or None when it is not one of its buttons."""
    step, _, value = code.partition("-")
    steps_of = {
        "n": "title_en",
        "k": "seeking",
        "s": "sector",
        "c": "country",
        "t": "trl",
        "i": "ip_status",
        "d": "deadline",
    }
    if steps_of.get(step) != submission.step:
        return None
    if value == "none":
        return submission.step, None
    if step == "k" and value in SEEKING:
        return "seeking", value
    if step == "s" and value in SECTORS:
        return "sector", value
    if step == "c" and value in COUNTRIES:
        return "country", value
    if step == "t" and value.isdigit() and int(value) in MATURITY:
        return "trl", int(value)
    if step == "i" and value in IP_STATUSES:
        return "ip_status", value
    if step == "d" and value.isdigit() and int(value) in MONTHS:
        return "deadline", (today + timedelta(days=30 * int(value))).isoformat()
    return None


def choice_rows(submission: Submission, language: str, action: str) -> list[list[InlineKeyboardButton]]:
    """The answer buttons of the current step (none for text-only steps)."""
    _ = gettext_for(language)
    step, key = submission.step, submission.id
    if step == "title_en":
        return [[button("⏭ " + _("Skip"), action, key, "n-none")]]
    if step == "seeking":
        return [[button(_(SEEKING_LABELS[k]), action, key, f"k-{k}")] for k in SEEKING]
    if step == "sector":
        rows = grid([button(sector_label(s, language), action, key, f"s-{s}") for s in SECTORS], 2)
        return rows + [[button(_("Other / not sure"), action, key, "s-none")]]
    if step == "country":
        return grid([button(f"{flag(c)} {country_name(c, language)}", action, key, f"c-{c}") for c in COUNTRIES], 3)
    if step == "trl":
        rows = [[button(_(label), action, key, f"t-{trl}")] for trl, label in MATURITY.items()]
        return rows + [[button(_("Not sure"), action, key, "t-none")]]
    if step == "partnership":
        chosen = set(submission.draft.get("partnership") or [])
        marks = [
            button(("✅ " if p in chosen else "▫️ ") + _(PARTNERSHIP_LABELS[p]), action, key, f"p-{i}")
            for i, p in enumerate(PARTNERSHIPS)
        ]
        return grid(marks, 2) + [[button("✔️ " + _("Done"), action, key, "p-done")]]
    if step == "ip_status":
        rows = grid([button(_(IP_LABELS[i]), action, key, f"i-{i}") for i in IP_STATUSES], 2)
        return rows + [[button(_("Not sure"), action, key, "i-none")]]
    if step == "deadline":
        months = [
            button(_("In {count} months").format(count=m) if m > 1 else _("In one month"), action, key, f"d-{m}")
            for m in MONTHS
        ]
        return [months, [button(_("No deadline"), action, key, "d-none")]]
    return []


def toggle_partnership(submission: Submission, code: str) -> bool:
    """Tick or untick one partnership kind (``p-`` and its number); False when ``code`` is not one."""
    number = code.removeprefix("p-")
    if submission.step != "partnership" or not number.isdigit() or int(number) >= len(PARTNERSHIPS):
        return False
    kind = PARTNERSHIPS[int(number)]
    chosen = list(submission.draft.get("partnership") or [])
    chosen = [p for p in chosen if p != kind] if kind in chosen else chosen + [kind]
    submission.draft = {**submission.draft, "partnership": [p for p in PARTNERSHIPS if p in chosen]}
    return True


def typed_choice(submission: Submission, text: str, language: str) -> str | None:
    """The code of the current step's button whose label the user typed (in their language or in
    English), so that typing "Nông nghiệp" works like tapping it: the whole label, or words that
    only one label contains; None when no label fits."""
    wanted = _label_key(text)
    if len(wanted) < 2:
        return None
    rows = field_rows if submission.step == "fields" else choice_rows
    labels = {
        _label_key(b.text): b.callback_data.rsplit(":", 1)[1]
        for lang in (language, "en")
        for row in rows(submission, lang, "pst")
        for b in row
    }
    if wanted in labels:
        return labels[wanted]
    containing = {code for label, code in labels.items() if f" {wanted} " in f" {label} "}
    return containing.pop() if len(containing) == 1 else None


def _label_key(label: str) -> str:
    """A label without its leading emoji or mark, compared case-insensitively."""
    words = unicodedata.normalize("NFC", label).casefold().split()
    while words and not any(ch.isalnum() for ch in words[0]):
        words = words[1:]
    return " ".join(words)


TYPED_VALUES = frozenset(
    {"title", "title_en", "description", *CONTACT_STEPS}
)  # answers shown again when the step is revisited


def current_text(submission: Submission, step: str) -> str | None:
    """What the user already wrote for a text step, to show when they come back to it."""
    if step not in TYPED_VALUES:
        return None
    value = submission.contact.get(step) if step in CONTACT_STEPS else submission.draft.get(step)
    return value or None


def set_value(submission: Submission, field: str, value: object) -> None:
    if field in CONTACT_STEPS:
        submission.contact = {**submission.contact, field: value}
    else:
        submission.draft = {**submission.draft, field: value}


def field_rows(submission: Submission, language: str, action: str) -> list[list[InlineKeyboardButton]]:
    """One button per field, to correct it."""
    _ = gettext_for(language)
    fields = [button(_(FIELD_NAMES[step]), action, submission.id, f"e-{step}") for step in steps(submission)]
    return grid(fields, 3)


def to_record(submission: Submission) -> Record:
    """The catalogue entry the submission describes (published; its listing's end is set on approval)."""
    draft, contact = submission.draft, submission.contact
    title, description = draft.get("title", ""), draft.get("description", "")
    language = detect_language(f"{title}\n{description}")
    titles = {language: title}
    if draft.get("title_en") and language != "en":
        titles["en"] = draft["title_en"]
    reach = contact.get("reach", "")
    return Record(
        id=submission.record_id or f"tc-{submission.id}",
        kind=submission.kind,
        title=titles,
        language=language,
        description={language: description} if description else {},
        sector=draft.get("sector"),
        country=draft.get("country"),
        organization=contact.get("organisation"),
        trl=draft.get("trl"),
        ip_status=draft.get("ip_status"),
        seeking=draft.get("seeking") or ("technology" if submission.kind == "request" else None),
        partnership=list(draft.get("partnership") or []),
        contact={
            k: v for k, v in {"name": contact.get("name"), ("email" if "@" in reach else "phone"): reach}.items() if v
        },
        deadline=date.fromisoformat(draft["deadline"]) if draft.get("deadline") else None,
    )


def draft_of(record: Record) -> dict:
    """A published entry's fields as a draft, to edit it."""
    return {
        "title": record.title[record.language],
        "description": record.description.get(record.language, ""),
        "title_en": record.title.get("en") if record.language != "en" else None,
        "sector": record.sector,
        "country": record.country,
        "trl": record.trl,
        "ip_status": record.ip_status,
        "seeking": record.seeking,
        "partnership": list(record.partnership),
        "deadline": record.deadline.isoformat() if record.deadline else None,
    }


def preview(submission: Submission, language: str) -> str:
    """The entry as others will see it, then the contact details only staff see."""
    _ = gettext_for(language)
    record = to_record(submission)
    lines = [details(record, language)]
    if record.deadline:
        lines.append(_("Needed by: {date}").format(date=long_date(record.deadline, language)))
    contact = submission.contact
    known = [escape(contact[k]) for k in CONTACT_STEPS if contact.get(k)]
    if known:
        lines.append("\n👤 " + " · ".join(known))
    return fit("\n".join(lines))


# ----------------------------------------------------------------------------- asking


def keyboard(submission: Submission, language: str) -> InlineKeyboardMarkup:
    """The current step's answer buttons, then Back and Cancel (Submit and Edit at the end)."""
    _ = gettext_for(language)
    key = submission.id
    if submission.step == "confirm":
        return InlineKeyboardMarkup(
            [
                [button("✅ " + _("I agree, send for review"), "pst", key, "submit")],
                [button("✏️ " + _("Edit"), "pst", key, "edit"), button("✖️ " + _("Cancel"), "pst", key, "cancel")],
            ]
        )
    if submission.step == "fields":
        return InlineKeyboardMarkup(
            field_rows(submission, language, "pst") + [[button("◀️ " + _("Back"), "pst", key, "back")]]
        )
    rows = choice_rows(submission, language, "pst")
    if current_text(submission, submission.step):
        rows.append([button("✔️ " + _("Keep it"), "pst", key, "keep")])
    nav = [button("✖️ " + _("Cancel"), "pst", key, "cancel")]
    if submission.to_preview or previous_step(submission):
        nav.insert(0, button("◀️ " + _("Back"), "pst", key, "back"))
    return InlineKeyboardMarkup(rows + [nav])


async def ask(message: Message, svc: Services, language: str, submission: Submission) -> None:
    """Show the current step: a question (with the answer given before, if any), the list of
    fields to edit, or the preview with consent; the user's next message answers it."""
    _ = gettext_for(language)
    await svc.store.set_focus(submission.user_id, f"post:{submission.id}")
    if submission.step == "confirm":
        consent = _(
            "By tapping “I agree” you consent to the Department publishing this entry (without your contact "
            "details) and sharing your contact details with its staff and with partners it introduces to you."
        )
        text = "<b>" + _("Please check your entry") + "</b>\n\n" + preview(submission, language) + "\n\n" + consent
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard(submission, language))
    elif submission.step == "fields":
        await message.reply_text(_("What would you like to change?"), reply_markup=keyboard(submission, language))
    else:
        text = escape(prompt(submission, language))
        if current := current_text(submission, submission.step):
            text += "\n" + _("Now: {value}").format(value="<i>" + escape(current) + "</i>")
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard(submission, language))


def post_keyboard(language: str) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    return InlineKeyboardMarkup(
        [
            [
                button("📝 " + _("Post a need"), "menu", "need"),
                button("💡 " + _("Offer a technology"), "menu", "offer"),
            ]
        ]
    )
