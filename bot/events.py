"""Connection events as data: what an event shows in each language and time zone, and the
checks of an event written by staff (a /newevent message or a row of an ``events*`` file)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.db import Event, User
from bot.i18n import DEFAULT_LANGUAGE, gettext_for
from bot.render import fit, owner_line, pick, shorten, when
from bot.services import Services
from catalog.io import ImportFailed, RowError, raw_rows
from catalog.language import LANGUAGES, detect_language, normalize_language_code
from catalog.model import Record, RecordError

_WHEN = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}")


EXAMPLE = (
    "/newevent\ndate: 2026-12-15 09:00\nplace: Hai Phong Science and Technology Center\n"
    "vi: Phiên kết nối công nghệ Việt Nam – Đài Loan\nen: Vietnam–Taiwan technology connection session\n"
    "entries: tw-aqua-001, tw-aqua-002"
)


def zone(svc: Services) -> ZoneInfo:
    return ZoneInfo(svc.settings.office_hours.zone)


def event_title(event: Event, language: str) -> str:
    """In ``language`` when staff wrote it, else in another language they did."""
    return pick(event.title, language, next(iter(event.title)))[0]


def heading(event: Event, language: str, tz: ZoneInfo) -> list[str]:
    lines = [f"📅 <b>{escape(event_title(event, language))}</b>", "🕘 " + escape(when(event.starts_at, language, tz))]
    if event.place:
        lines.append("📍 " + escape(event.place))
    return lines


def participant(record: Record, language: str) -> str:
    """Title in the reader's language (or the original), organisation, flag and country."""
    title = pick(record.title, language, record.language)[0]
    owner = owner_line(record, language)
    return f"<b>{escape(title)}</b>" + (f" — {escape(owner)}" if owner else "")


async def participants(svc: Services, event: Event) -> list[tuple[int, Record]]:
    """(position in the event, record) of the entries still published; positions stay stable for buttons."""
    records = await svc.catalog.get_many(event.entries)
    return [
        (n, records[rid])
        for n, rid in enumerate(event.entries, 1)
        if rid in records and records[rid].status == "published"
    ]


def event_view(event: Event, entries: list[tuple[int, Record]], language: str, tz: ZoneInfo) -> str:
    _ = gettext_for(language)
    lines = heading(event, language, tz)
    if entries:
        lines += ["", "<b>" + _("Participants") + "</b>"]
        lines += [f"{n}. {participant(record, language)}" for n, record in entries]
    return fit("\n".join(lines))


def check_event(
    raw: dict[str, Any], tz: ZoneInfo, staff_: Callable[[str], str]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The event's columns from raw fields (title, date, place, entries), and what is wrong with
    them as (field, reason) in the staff's language."""
    problems: list[tuple[str, str]] = []
    title = raw.get("title")
    titles: dict[str, str] = {}
    if isinstance(title, str) and title.strip():
        titles = {detect_language(title): title.strip()}
    elif isinstance(title, dict):
        for code, text in title.items():
            language = normalize_language_code(str(code))
            if language is None:
                problems.append(
                    (
                        "title",
                        staff_("unknown language {code} (use one of {languages})").format(
                            code=code, languages=", ".join(LANGUAGES)
                        ),
                    )
                )
            elif not isinstance(text, str):
                problems.append(("title", staff_("{code} must be a text").format(code=code)))
            elif text.strip():
                titles[language] = " ".join(text.split())
    elif title not in (None, ""):
        problems.append(("title", staff_("must be a text or an object keyed by language")))
    if not titles and not problems:
        problems.append(("title", staff_("is required, in at least one language")))
    starts_at = None
    date = str(raw.get("date") or "").strip()
    if not date:
        problems.append(("date", staff_("is required")))
    else:
        try:
            if not _WHEN.match(date):
                raise ValueError(date)
            value = datetime.fromisoformat(date)
            starts_at = (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
        except ValueError:
            problems.append(
                (
                    "date",
                    staff_("must be YYYY-MM-DD HH:MM (local time) or ISO 8601 with an offset, not {value}").format(
                        value=date
                    ),
                )
            )
    entries = raw.get("entries") or []
    if isinstance(entries, str):
        entries = re.split(r"[,;\s]+", entries)
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        problems.append(("entries", staff_("must be a list of catalogue entry ids")))
        entries = []
    entries = list(dict.fromkeys(e.strip() for e in entries if e.strip()))
    values = {
        "title": titles,
        "starts_at": starts_at,
        "place": " ".join(str(raw.get("place") or "").split()),
        "entries": entries,
    }
    return values, problems


def unknown_entries(
    entries: list[str], found: dict[str, Record], staff_: Callable[[str], str]
) -> list[tuple[str, str]]:
    missing = [e for e in entries if e not in found]
    return [("entries", staff_("no catalogue entry with id {ids}").format(ids=", ".join(missing)))] if missing else []


def command_fields(text: str, staff_: Callable[[str], str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The ``key: value`` lines after /newevent as raw fields; titles keyed by language."""
    parts = text.split(None, 1)
    raw: dict[str, Any] = {"title": {}}
    problems: list[tuple[str, str]] = []
    for line in (parts[1] if len(parts) > 1 else "").splitlines():
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon:
            problems.append((shorten(line, 40), staff_("write each line as key: value")))
        elif key.lower() in ("date", "place", "entries"):
            raw[key.lower()] = value.strip()
        elif normalize_language_code(key):
            raw["title"][key] = value.strip()
        else:
            problems.append(
                (
                    key,
                    staff_("unknown key; use date, place, entries, or a language: {languages}").format(
                        languages=", ".join(LANGUAGES)
                    ),
                )
            )
    return raw, problems


EVENT_COLUMNS = frozenset({"id", "title", "date"})


async def import_events(path: Path, svc: Services, staff_id: int, staff_: Callable[[str], str]) -> tuple[int, int]:
    """Create or update (by ``id``) the events of a file: (new, updated). All or nothing: raises
    :class:`ImportFailed` with every bad row, reasons in the staff's language."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed([RowError(path.name, 0, "file", str(exc))]) from None
    errors: list[RowError] = []
    rows: list[tuple[int, str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for line, raw in raw_rows(text, path.suffix.lower(), EVENT_COLUMNS):
        if isinstance(raw, RecordError):
            errors.append(RowError(path.name, line, raw.field, raw.reason))
            continue
        if not isinstance(raw, dict):
            errors.append(RowError(path.name, line, "record", staff_("must be a JSON object")))
            continue
        key = str(raw.get("id") or "").strip()
        values, problems = check_event(raw, zone(svc), staff_)
        if not key or len(key) > 100:
            problems.insert(0, ("id", staff_("is required (at most 100 characters)")))
        elif key in seen:
            problems.insert(0, ("id", staff_("duplicate of line {line}").format(line=seen[key])))
        errors += [RowError(path.name, line, field, reason) for field, reason in problems]
        seen.setdefault(key, line)
        rows.append((line, key, values))
    found = await svc.catalog.get_many({e for _, _, values in rows for e in values["entries"]})
    for line, _key, values in rows:
        errors += [
            RowError(path.name, line, field, reason)
            for field, reason in unknown_entries(values["entries"], found, staff_)
        ]
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line))
    existing = {e.key: e for e in await svc.store.rows(Event, Event.key.in_([key for _, key, _ in rows]))}
    events = []
    for _line, key, values in rows:
        event = existing.get(key) or Event(key=key, created_by=staff_id)
        for name, value in values.items():
            setattr(event, name, value)
        events.append(event)
    await svc.store.save(*events)
    return len(rows) - len(existing), len(existing)


async def user_language(svc: Services, user_id: int) -> str:
    user = await svc.store.get(User, user_id)
    return user.language if user and user.language else DEFAULT_LANGUAGE
