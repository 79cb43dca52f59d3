"""The contact form: the details staff need for an introduction, asked one at a time and checked,
then shown for consent. Any detail can be changed from the confirmation, Back shows the answer
given, and details given with consent before (here or when posting) are not asked again.

The steps and checks are shared with the posting form.
"""

from __future__ import annotations

import re
from html import escape

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.db import Ticket
from bot.i18n import N_, gettext_for
from bot.mirror import staff_notices
from bot.render import button, listing
from bot.services import Services, current_user, services

STEPS = ("name", "organisation", "role", "reach", "purpose")
DETAILS = STEPS[:4]  # who the person is; the purpose belongs to one request
PROMPTS = {
    "name": N_("Your full name?"),
    "organisation": N_("Your organisation (company, farm, institute)?"),
    "role": N_("Your role there?"),
    "reach": N_("A phone number or e-mail address where staff can reach you?"),
    "purpose": N_("In one line: what would you like to achieve?"),
}
HINTS = {
    "name": N_("Please write your name (2 to 100 characters)."),
    "organisation": N_("Please write the name of your organisation (2 to 200 characters)."),
    "role": N_("Please write your role, e.g. director, technical manager (2 to 100 characters)."),
    "reach": N_(
        "That does not look like a phone number or an e-mail address, e.g. +84 912 345 678 or name@company.vn."
    ),
    "purpose": N_("Please write one line of 5 to 300 characters."),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().-]{8,20}$")
LIMITS = {"name": (2, 100), "organisation": (2, 200), "role": (2, 100), "purpose": (5, 300)}


def valid(step: str, text: str) -> str | None:
    """The cleaned value, or None when it does not validate."""
    text = " ".join(text.split())
    if step == "reach":
        digits = re.sub(r"\D", "", text)
        return text if _EMAIL.match(text) or (_PHONE.match(text) and 8 <= len(digits) <= 15) else None
    low, high = LIMITS[step]
    return text if low <= len(text) <= high else None


def known(contacts: list[dict]) -> dict:
    """The newest complete details a user gave with consent, so that no form asks for them again."""
    for contact in contacts:
        if all(contact.get(step) for step in DETAILS):
            return {step: contact[step] for step in DETAILS}
    return {}


FIELD_NAMES = {
    "name": N_("Name"),
    "organisation": N_("Organisation"),
    "role": N_("Role"),
    "reach": N_("Phone or e-mail"),
    "purpose": N_("Purpose"),
}


def step_keyboard(language: str, ticket: Ticket) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    if ticket.step == "fields":
        rows = [[button(_(FIELD_NAMES[step]), "hf", ticket.id, f"e-{step}")] for step in STEPS]
        return InlineKeyboardMarkup(rows + [[button("◀️ " + _("Back"), "hf", ticket.id, "back")]])
    row = [button("✖️ " + _("Cancel"), "hf", ticket.id, "cancel")]
    if ticket.step != STEPS[0] or ticket.to_preview:
        row.insert(0, button("◀️ " + _("Back"), "hf", ticket.id, "back"))
    rows = [row]
    if ticket.contact.get(ticket.step):
        rows.insert(0, [button("✔️ " + _("Keep it"), "hf", ticket.id, "keep")])
    return InlineKeyboardMarkup(rows)


def confirmation(language: str, ticket: Ticket) -> tuple[str, InlineKeyboardMarkup]:
    _ = gettext_for(language)
    c = ticket.contact
    text = "\n".join(
        [
            "<b>" + _("Please check your details") + "</b>",
            _("Name: {value}").format(value=escape(c["name"])),
            _("Organisation: {name}").format(name=escape(c["organisation"])),
            _("Role: {value}").format(value=escape(c["role"])),
            _("Phone or e-mail: {value}").format(value=escape(c["reach"])),
            _("Purpose: {value}").format(value=escape(c["purpose"])),
            "",
            _(
                "By tapping “I agree” you consent to the Department sharing these details with its staff "
                "and with the other party of the introduction, for this introduction only."
            ),
        ]
    )
    keyboard = InlineKeyboardMarkup(
        [
            [button("✅ " + _("I agree, send to staff"), "hf", ticket.id, "agree")],
            [
                button("✏️ " + _("Edit details"), "hf", ticket.id, "edit"),
                button("✖️ " + _("Cancel"), "hf", ticket.id, "cancel"),
            ],
        ]
    )
    return text, keyboard


async def ask(message: Message, svc: Services, language: str, ticket: Ticket) -> None:
    """Prompt for the ticket's current step (or the confirmation once everything is known);
    the user's next message answers it."""
    _ = gettext_for(language)
    await svc.store.set_focus(ticket.user_id, f"contact:{ticket.id}")
    if ticket.step == "confirm":
        text, keyboard = confirmation(language, ticket)
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
        return
    if ticket.step == "fields":
        await message.reply_text(
            _("Which detail would you like to change?"), reply_markup=step_keyboard(language, ticket)
        )
        return
    text = escape(_(PROMPTS[ticket.step]))
    if ticket.contact.get(ticket.step):
        text += "\n" + _("Now: {value}").format(value="<i>" + escape(ticket.contact[ticket.step]) + "</i>")
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=step_keyboard(language, ticket))


async def request_handoff(
    update: Update, context: ContextTypes.DEFAULT_TYPE, entries: list[str], query: str | None
) -> None:
    """Open a ticket (or add to the user's open one) about ``entries``."""
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    message = update.effective_message
    if svc.settings.staff_chat_id is None:
        await message.reply_text(_("Introductions by staff are not available at the moment."))
        return
    ticket = await svc.store.active_ticket(user.id)
    if ticket is not None:
        new = [e for e in entries if e not in ticket.entries]
        ticket.entries = ticket.entries + new
        if query and query not in ticket.queries:
            ticket.queries = ticket.queries + [query]
        await svc.store.save(ticket)
        if ticket.status == "collecting":
            await ask(message, svc, language, ticket)
            return
        if new:
            records = await svc.catalog.get_many(new)
            staff_ = gettext_for(svc.settings.staff_language)
            titles = listing(
                (escape(r.title.get(svc.settings.staff_language) or r.title[r.language]) for r in records.values()),
                svc.settings.staff_language,
            )
            also = "➕ " + staff_("The user also asks about: {titles}").format(titles=titles)
            await svc.outbox.post(context.bot, svc, *staff_notices(svc, ticket, also))
            svc.outbox.refresh_card(context.bot, svc, ticket.id)
        await message.reply_text(
            _("Added to your open request #{number}. Staff will see it there.").format(number=ticket.id)
        )
        return
    details = known(await svc.store.consented_contacts(user.id))
    ticket = Ticket(
        user_id=user.id,
        status="collecting",
        language=language,
        entries=list(entries),
        queries=[query] if query else [],
        contact=details,
        step="purpose" if details else STEPS[0],
    )
    await svc.store.save(ticket)
    intro = _("To introduce you, staff need a few details. You can go back or cancel at any step.")
    if details:
        intro = _("To introduce you, staff will use the details you gave last time; you can edit them.")
    await message.reply_text(intro)
    await ask(message, svc, language, ticket)


def applies(ticket: Ticket, action: str) -> bool:
    """Whether a form button fits the step the form is at now (an old message's buttons do not)."""
    if action in ("cancel", "back"):
        return ticket.step != STEPS[0] or action == "cancel" or bool(ticket.to_preview)
    if action in ("agree", "edit"):
        return ticket.step == "confirm"
    if action.startswith("e-"):
        return ticket.step == "fields" and action[2:] in STEPS
    return action == "keep" and ticket.step in STEPS and bool(ticket.contact.get(ticket.step))


def advance(ticket: Ticket) -> None:
    following = STEPS[STEPS.index(ticket.step) + 1 :]
    ticket.step = (
        "confirm" if ticket.to_preview else next((s for s in following if not ticket.contact.get(s)), "confirm")
    )
    ticket.to_preview = False


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, language: str) -> None:
    """A typed answer in the contact form."""
    svc = services(context)
    message = update.effective_message
    _ = gettext_for(language)
    if not message.text or ticket.step in ("confirm", "fields"):
        await message.reply_text(_("Please use the buttons above."))
        return
    value = valid(ticket.step, message.text)
    if value is None:
        await message.reply_text(_(HINTS[ticket.step]), reply_markup=step_keyboard(language, ticket))
        return
    ticket.contact = {**ticket.contact, ticket.step: value}
    advance(ticket)
    await svc.store.save(ticket, handled_update=update.update_id)
    await ask(message, svc, language, ticket)
