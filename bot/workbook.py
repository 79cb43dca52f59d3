"""The monthly workbook of a :class:`~bot.reporting.Report` (XLSX, openpyxl), in the staff language.

Times are shown in the department's time zone; every text cell goes through ``csv_safe``, so text
that starts like a formula (``=``, ``+``, ``-``, ``@``) is shown as text, never run.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.drawing.image import Image
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import LANGUAGE_NAMES, N_, gettext_for
from bot.render import KIND_LABELS
from bot.reporting import DIMENSION_NAMES, DIMENSIONS, FUNNEL, FUNNEL_NAMES, STAGE_LABELS, Report, event_title
from catalog.io import csv_safe
from catalog.model import Record
from catalog.taxonomy import country_name, sector_label

TICKET_STATUS_LABELS = {
    "collecting": N_("Filling in the form"),
    "open": N_("Waiting for staff"),
    "claimed": N_("Held by staff"),
    "resolved": N_("Closed"),
    "cancelled": N_("Cancelled by the user"),
}
EVENT_STATUS_LABELS = {"scheduled": N_("Scheduled"), "cancelled": N_("Cancelled")}
BOLD = Font(bold=True)
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def workbook(report: Report, language: str, chart: bytes | None = None) -> bytes:
    """The XLSX file: a summary with the funnel and its breakdowns (and a chart of it), one sheet
    per kind of row, and the dashboard picture ``chart`` when given."""
    staff_ = gettext_for(language)
    book = Workbook()
    _summary(book.active, report, language)
    sheets = _tables(report, language)
    for title, headers, rows in sheets:
        _table(book.create_sheet(_sheet_name(staff_(title))), [staff_(h) for h in headers], rows, report)
    if chart is not None:
        sheet = book.create_sheet(_sheet_name(staff_("Charts")))
        sheet.add_image(Image(io.BytesIO(chart)), "A1")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _summary(sheet: Worksheet, report: Report, language: str) -> None:
    staff_ = gettext_for(language)
    sheet.title = _sheet_name(staff_("Summary"))
    _append(sheet, [staff_("Report {period}").format(period=report.period.name())], report)
    sheet["A1"].font = Font(bold=True, size=14)
    _append(sheet, [staff_("Made on"), report.made_at], report)
    sheet.append([])
    _append(sheet, [staff_("Funnel"), staff_("Count")], report, bold=True)
    funnel_top = sheet.max_row + 1
    for stage, count in report.funnel().items():
        _append(sheet, [staff_(FUNNEL_NAMES[stage]), count], report)
    funnel_rows = (funnel_top, sheet.max_row)
    sheet.append([])
    reply = report.median_reply()
    published = sum(1 for _, was_published, _ in report.entries if was_published)
    for name, value in (
        (
            N_("Median time to first staff reply (minutes)"),
            round(reply.total_seconds() / 60, 1) if reply is not None else "—",
        ),
        (N_("Unclaimed tickets now"), report.unclaimed),
        (N_("Connection events"), len(report.events)),
        (N_("Event registrations"), len(report.registrations)),
        (N_("Entries published"), published),
        (N_("Entries expired"), sum(1 for *_, expired in report.entries if expired)),
    ):
        _append(sheet, [staff_(name), value], report)
    for dimension in DIMENSIONS:
        sheet.append([])
        _append(
            sheet, [staff_(DIMENSION_NAMES[dimension]), *(staff_(FUNNEL_NAMES[s]) for s in FUNNEL)], report, bold=True
        )
        for key, counts in report.breakdown(dimension).items():
            _append(sheet, [report.label(dimension, key, language), *(counts[s] for s in FUNNEL)], report)
    chart = BarChart()
    chart.type, chart.title, chart.legend = "bar", staff_("Funnel"), None
    chart.add_data(Reference(sheet, min_col=2, min_row=funnel_rows[0], max_row=funnel_rows[1]))
    chart.set_categories(Reference(sheet, min_col=1, min_row=funnel_rows[0], max_row=funnel_rows[1]))
    chart.y_axis.delete = chart.x_axis.delete = False
    chart.x_axis.scaling.orientation = "maxMin"  # searches on top, as in a funnel
    sheet.add_chart(chart, "I4")
    _fit_columns(sheet)


def _tables(report: Report, language: str) -> list[tuple[str, list[str], list[list]]]:
    """(sheet title, column headers, rows) of every sheet after the summary."""
    staff_ = gettext_for(language)
    records = report.records

    def title(record_id: str) -> str:
        record = records.get(record_id)
        return (record.title.get(language) or record.title[record.language]) if record else ""

    def about(record: Record | None) -> list:
        return [sector_label(record.sector, language), country_name(record.country, language)] if record else ["", ""]

    def event_of(ticket, intro) -> str:
        event = report.meetings.event(ticket.user_id, [intro.record_id], intro.created_at)
        return event_title(report.event_titles.get(event, {}), language) if event else ""

    replies = report.reply_times()
    tickets = [
        [
            t.id,
            t.created_at,
            t.consent_at,
            staff_(TICKET_STATUS_LABELS[t.status]),
            LANGUAGE_NAMES.get(t.language, t.language),
            t.contact.get("organisation", ""),
            " ".join(t.entries),
            t.claimed_name or "",
            report.first_reply.get(t.id),
            round(replies[t.id].total_seconds() / 60, 1) if t.id in replies else None,
            t.closed_at,
        ]
        for t in report.tickets
    ]
    introductions = []
    for i in report.introductions:
        ticket = report.ticket_of[i.ticket_id]
        introductions.append(
            [
                i.id,
                i.ticket_id,
                i.record_id,
                title(i.record_id),
                *about(records.get(i.record_id)),
                ticket.contact.get("organisation", ""),
                LANGUAGE_NAMES.get(ticket.language, ticket.language),
                event_of(ticket, i),
                i.created_at,
                staff_(STAGE_LABELS.get(i.stage, i.stage)),
                i.updated_at,
            ]
        )
    outcomes = [
        [
            i.id,
            i.record_id,
            title(i.record_id),
            report.ticket_of[i.ticket_id].contact.get("organisation", ""),
            staff_(STAGE_LABELS[i.stage]),
            i.reason or "",
            i.updated_at,
            (i.updated_at - i.created_at).days,
        ]
        for i in report.outcomes
    ]
    entries = [
        [
            r.id,
            staff_(KIND_LABELS.get(r.kind, r.kind)),
            title(r.id),
            *about(r),
            r.organization or "",
            r.created_at,
            r.expires_at,
            staff_("Yes") if published else staff_("No"),
            staff_("Yes") if expired else staff_("No"),
        ]
        for r, published, expired in report.entries
    ]
    registered = {}
    for registration in report.registrations:
        registered.setdefault(registration.event_id, []).append(registration)
    events = [
        [
            e.id,
            event_title(e.title, language),
            e.starts_at,
            e.place,
            staff_(EVENT_STATUS_LABELS.get(e.status, e.status)),
            len(e.entries),
            len(registered.get(e.id, [])),
            len({r.user_id for r in registered.get(e.id, [])}),
        ]
        for e in report.events
    ]
    registrations = [
        [
            r.event_id,
            event_title(report.event_titles.get(r.event_id, {}), language),
            r.record_id,
            title(r.record_id),
            r.created_at,
        ]
        for r in report.registrations
    ]
    return [
        (
            N_("Tickets"),
            [
                N_("Ticket"),
                N_("Created"),
                N_("Reached staff"),
                N_("Status"),
                N_("User language"),
                N_("Organisation"),
                N_("Entries asked about"),
                N_("Held by"),
                N_("First staff reply"),
                N_("Minutes to first staff reply"),
                N_("Closed"),
            ],
            tickets,
        ),
        (
            N_("Introductions"),
            [
                N_("Introduction"),
                N_("Ticket"),
                N_("Entry"),
                N_("Title"),
                N_("Sector"),
                N_("Country"),
                N_("Requester"),
                N_("User language"),
                N_("Event"),
                N_("Introduced on"),
                N_("Introduction stage"),
                N_("Stage since"),
            ],
            introductions,
        ),
        (
            N_("Outcomes"),
            [
                N_("Introduction"),
                N_("Entry"),
                N_("Title"),
                N_("Requester"),
                N_("Outcome"),
                N_("Reason"),
                N_("Reached on"),
                N_("Days since the introduction"),
            ],
            outcomes,
        ),
        (
            N_("Entries"),
            [
                N_("Entry"),
                N_("Kind"),
                N_("Title"),
                N_("Sector"),
                N_("Country"),
                N_("Organisation"),
                N_("Published on"),
                N_("Listed until"),
                N_("Published this period"),
                N_("Expired this period"),
            ],
            entries,
        ),
        (
            N_("Events"),
            [
                N_("Event"),
                N_("Title"),
                N_("Starts"),
                N_("Place"),
                N_("Status"),
                N_("Entries"),
                N_("Registrations"),
                N_("Participants"),
            ],
            events,
        ),
        (
            N_("Registrations"),
            [N_("Event"), N_("Title"), N_("Entry"), N_("Entry title"), N_("Registered on")],
            registrations,
        ),
    ]


def _table(sheet: Worksheet, headers: list[str], rows: list[list], report: Report) -> None:
    _append(sheet, headers, report, bold=True)
    for row in rows:
        _append(sheet, row, report)
    sheet.freeze_panes = "A2"
    _fit_columns(sheet)


def _append(sheet: Worksheet, values: list, report: Report, *, bold: bool = False) -> None:
    """One row: times in the department's zone, text that could run as a formula made harmless."""
    sheet.append([_cell(value, report) for value in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"
        if bold:
            cell.font = BOLD


def _cell(value, report: Report):
    if isinstance(value, datetime):
        return value.astimezone(report.period.zone).replace(tzinfo=None)  # a spreadsheet knows no time zones
    return csv_safe(value)


def _fit_columns(sheet: Worksheet) -> None:
    for column in sheet.columns:
        width = max((len(str(cell.value)) for cell in column if cell.value is not None), default=8)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width, 8) + 2, 50)


def _sheet_name(name: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    return _SHEET_NAME.sub(" ", name)[:31]
