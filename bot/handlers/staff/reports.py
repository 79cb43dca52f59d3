"""The department's reporting, staff side: /stats (the dashboard picture), /report [YYYY-MM] (the
workbook of a month), and the job that posts the previous month's workbook in the staff group on
the 1st, once.

Rendering takes a second or two of CPU, so it runs in a worker thread while other chats go on.
"""

from __future__ import annotations

import asyncio
from html import escape

from babel.dates import format_timedelta
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ContextTypes

from bot import charts, reporting
from bot.db import Attachment
from bot.delivery import file_to_staff
from bot.i18n import gettext_for
from bot.reporting import FUNNEL, FUNNEL_NAMES, Period, Report
from bot.services import Services, services
from bot.staffing import staff_data_only, staff_gettext
from bot.workbook import workbook
from bot.workers import alone
from catalog.taxonomy import babel_locale

TREND_MONTHS = 6  # the dashboard shows this many months, the last one the current (or reported) month


async def _report(svc: Services, period: Period) -> Report:
    return await reporting.gather(svc.store, svc.catalog, period, svc.clock.now())


def _numbers(report: Report, language: str) -> str:
    """The funnel and the key figures as lines of text, beside the picture or the file."""
    staff_ = gettext_for(language)
    counts = report.funnel()
    reply = report.median_reply()
    lines = [f"{escape(staff_(FUNNEL_NAMES[stage]))}: {counts[stage]}" for stage in FUNNEL]
    lines.append(
        escape(staff_("Median time to first staff reply"))
        + ": "
        + (format_timedelta(reply, threshold=1.5, locale=babel_locale(language)) if reply is not None else "—")
    )
    lines.append(escape(staff_("Unclaimed tickets now")) + f": {report.unclaimed}")
    return "\n".join(lines)


async def monthly_workbook(svc: Services, year: int, month: int) -> tuple[str, bytes, str]:
    """(file name, XLSX, caption) of a month, with the dashboard of the months up to it."""
    language = svc.settings.staff_language
    zone = svc.clock.zone
    report = await _report(svc, Period.ending(year, month, zone))
    trend = await _report(svc, Period.ending(year, month, zone, TREND_MONTHS))
    picture = await asyncio.to_thread(charts.dashboard, trend, language)
    data = await asyncio.to_thread(workbook, report, language, picture)
    staff_ = gettext_for(language)
    title = "<b>" + escape(staff_("Report {period}").format(period=report.period.name())) + "</b>"
    return f"techconnect-{year}-{month:02d}.xlsx", data, title + "\n" + _numbers(report, language)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: the dashboard of the last months, the current one so far."""
    if not await staff_data_only(update, context):
        return
    svc = services(context)
    language = svc.settings.staff_language
    now = svc.clock.now().astimezone(svc.clock.zone)
    report = await _report(svc, Period.ending(now.year, now.month, svc.clock.zone, TREND_MONTHS))
    picture = await asyncio.to_thread(charts.dashboard, report, language)
    staff_ = staff_gettext(context)
    title = "<b>" + escape(staff_("Statistics, {period}").format(period=report.period.name())) + "</b>"
    await update.effective_message.reply_photo(
        picture, caption=title + "\n" + _numbers(report, language), parse_mode=ParseMode.HTML
    )


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/report [YYYY-MM]: the workbook of that month, or of the current month so far."""
    if not await staff_data_only(update, context):
        return
    svc = services(context)
    zone = svc.clock.zone
    now = svc.clock.now()
    if not context.args:
        local = now.astimezone(zone)
        month = (local.year, local.month)
    else:
        month = reporting.parse_month(context.args[0]) if len(context.args) == 1 else None
    if month is None:
        example = "{}-{:02d}".format(*reporting.previous_month(now, zone))
        staff_ = staff_gettext(context)
        await update.effective_message.reply_text(
            staff_("Use /report for this month so far, or /report YYYY-MM for a month, e.g. /report {example}.").format(
                example=example
            )
        )
        return
    name, data, caption = await monthly_workbook(svc, *month)
    await update.effective_message.reply_document(data, filename=name, caption=caption, parse_mode=ParseMode.HTML)


async def post_monthly_report(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: on the 1st (department's time), the previous month's workbook in the staff group. The
    file is recorded with its outbox row in one transaction under the month's key, so a second run,
    a restart or another worker posts nothing more."""
    svc = services(context)
    now = svc.clock.now()
    if now.astimezone(svc.clock.zone).day != 1:
        return
    year, month = reporting.previous_month(now, svc.clock.zone)
    key = f"report:{year}-{month:02d}"
    if await svc.store.get(Attachment, key) is not None:
        return
    name, data, caption = await monthly_workbook(svc, year, month)
    row = file_to_staff(svc, key, caption)
    if await svc.store.save_once(Attachment(key=key, name=name, data=data), row):
        await svc.outbox.deliver(context.bot, svc, [row])


HANDLERS = [CommandHandler("stats", stats), CommandHandler("report", report)]


def schedule(application) -> None:
    """The monthly report job, checked every hour (its name lets tests find and run it)."""
    application.job_queue.run_repeating(alone(post_monthly_report), interval=3600, first=600, name="monthly_report")
