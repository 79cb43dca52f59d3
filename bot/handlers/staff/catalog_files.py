"""Staff manage the catalogue from Telegram: a .jsonl/.json/.csv file sent to the staff group is
imported (all or nothing, bad rows reported by line), /export_catalog sends the catalogue back.

A file whose name starts with ``events`` holds connection events instead (``bot.events.import_events``).
Files sent inside a ticket's topic are for the user, so they are left to the relay.
"""

from __future__ import annotations

import asyncio
import tempfile
from html import escape
from pathlib import Path

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from bot.events import import_events
from bot.i18n import gettext_for, plural_for
from bot.publishing import publish
from bot.render import fit, shorten
from bot.services import services
from bot.staffing import is_staff, staff_data_only, staff_gettext
from catalog.io import SUFFIXES, ImportFailed, RowError, read_records, write_records

MAX_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
SHOWN_ERRORS = 20
EXPORT_FORMATS = ("jsonl", "csv")

INDEX_INTERVAL = 2.0  # seconds between two looks at the catalogue's version


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A catalogue or events file from staff: import it and say what changed, or why nothing did."""
    svc = services(context)
    message = update.effective_message
    document = message.document
    name = document.file_name or ""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES or message.from_user is None:
        return
    if message.is_topic_message and await svc.store.ticket_by_topic(message.message_thread_id):
        return
    if not await is_staff(context, message.from_user.id):
        return
    staff_, ngettext = staff_gettext(context), plural_for(svc.settings.staff_language)
    if (document.file_size or 0) > MAX_BYTES:
        await message.reply_text(
            staff_(
                "This file is larger than 20 MB, which Telegram does not let bots download. "
                "Please split it into smaller files."
            )
        )
        return
    progress = await message.reply_text(
        "⏳ " + staff_("Importing “{name}”…").format(name=name)
    )  # at once; the result replaces it
    data = await (await context.bot.get_file(document.file_id)).download_as_bytearray()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("upload" + suffix)
        path.write_bytes(data)
        try:
            if name.lower().startswith("events"):
                new, updated = await import_events(path, svc, message.from_user.id, staff_)
                text = ngettext(
                    "Imported {count} event: {new} new, {updated} updated.",
                    "Imported {count} events: {new} new, {updated} updated.",
                    new + updated,
                )
            else:
                new, updated = await import_catalogue(context, path)
                text = ngettext(
                    "Imported {count} entry: {new} new, {updated} updated; search is up to date.",
                    "Imported {count} entries: {new} new, {updated} updated; search is up to date.",
                    new + updated,
                )
        except ImportFailed as exc:
            await report_errors(message, progress, exc.errors, svc.settings.staff_language)
            return
    await progress.edit_text("✅ " + text.format(count=new + updated, new=new, updated=updated))


async def import_catalogue(context: ContextTypes.DEFAULT_TYPE, path: Path) -> tuple[int, int]:
    """Write a valid file's records, then bring search (and matching) up to date: (new, updated)."""
    svc = services(context)
    records = await asyncio.to_thread(read_records, path)
    return await publish(context.bot, svc, records)


async def report_errors(message: Message, progress: Message, errors: list[RowError], language: str) -> None:
    """How many rows failed and the first ones as ``line: field: reason`` (in place of the progress
    message); all of them as errors.txt, in reply to the file."""
    lines = [f"{e.line}: {e.field}: {e.reason}" for e in errors]
    staff_, ngettext = gettext_for(language), plural_for(language)
    failed = len({e.line for e in errors})
    text = [
        "❌ "
        + ngettext(
            "{count} row could not be imported; nothing was saved.",
            "{count} rows could not be imported; nothing was saved.",
            failed,
        ).format(count=failed)
    ]
    text += [escape(shorten(line, 180)) for line in lines[:SHOWN_ERRORS]]
    if len(lines) > SHOWN_ERRORS:
        text.append("\n" + staff_("All {count} errors are in the attached file.").format(count=len(lines)))
    await progress.edit_text(fit("\n".join(text)), parse_mode=ParseMode.HTML)
    if len(lines) > SHOWN_ERRORS:
        await message.reply_document(("\n".join(lines) + "\n").encode("utf-8"), filename="errors.txt")


async def export_catalog(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export_catalog [jsonl|csv]: the whole catalogue (contacts included: staff only) as a file."""
    if not await staff_data_only(update, context):
        return
    svc = services(context)
    staff_ = staff_gettext(context)
    kind = context.args[0].lower() if context.args else EXPORT_FORMATS[0]
    if kind not in EXPORT_FORMATS:
        await update.effective_message.reply_text(staff_("Use /export_catalog jsonl or /export_catalog csv."))
        return
    records = await svc.catalog.all()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"catalogue.{kind}"
        await asyncio.to_thread(write_records, records, path)
        await update.effective_message.reply_document(
            path.read_bytes(),
            filename=path.name,
            caption=plural_for(svc.settings.staff_language)("{count} entry", "{count} entries", len(records)).format(
                count=len(records)
            ),
        )


async def keep_index_current(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: the catalogue also changes outside this process (``techconnect catalog import``, another
    worker); searches follow within seconds, without a restart. Reading the catalogue's version
    is cheap; the index is compared with the catalogue only when it changed."""
    svc = services(context)
    version = await svc.catalog.version()
    if version != context.bot_data.get("catalog_version"):
        await svc.engine.refresh(svc.catalog)
        context.bot_data["catalog_version"] = version


HANDLERS = [CommandHandler("export_catalog", export_catalog)]


def schedule(application) -> None:
    application.job_queue.run_repeating(
        keep_index_current, interval=INDEX_INTERVAL, first=INDEX_INTERVAL, name="keep_index_current"
    )


def document_handlers(staff_chat_id: int | None) -> list:
    """Files in the staff group, for a handler group of their own: the ticket relay still sees them."""
    if staff_chat_id is None:
        return []
    return [
        MessageHandler(filters.Chat(staff_chat_id) & filters.Document.ALL & filters.UpdateType.MESSAGE, on_document)
    ]
