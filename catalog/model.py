"""The catalogue record: a technology offer or request, validated field by field.

Validation reports the field and the reason so the importer can say ``file:line: field:
reason`` for every bad row.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from catalog.language import LANGUAGES, detect_language, normalize_language_code
from catalog.taxonomy import country_code

KINDS = ("offer", "request")
# What a request seeks: a technology (an enterprise's need), or a partner, distributor or buyer
# (a supplier's "partner wanted"); the two are different audiences for a supplier.
SEEKING = ("technology", "partner")
STATUSES = ("draft", "published", "rejected", "withdrawn")
IP_STATUSES = ("patented", "patent_pending", "trade_secret", "open", "none")
PARTNERSHIPS = (
    "licensing",
    "joint_venture",
    "equipment_sale",
    "technical_cooperation",
    "investment",
    "research_collaboration",
    "training",
)
MAX_ID = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def id_digest(record_id: str) -> str:
    """A short fixed-size name for a record id of up to 100 characters (for button data)."""
    return hashlib.sha1(record_id.encode()).hexdigest()[:12]


class RecordError(ValueError):
    """One invalid field of one record."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class Record:
    id: str
    kind: str
    title: dict[str, str]
    language: str
    seeking: str | None = None  # requests only: see SEEKING
    description: dict[str, str] = field(default_factory=dict)
    sector: str | None = None
    country: str | None = None
    organization: str | None = None
    trl: int | None = None
    ip_status: str | None = None
    partnership: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    contact: dict[str, str] = field(default_factory=dict)
    status: str = "published"
    deadline: date | None = None  # a request's "needed by"
    expires_at: date | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    sample: bool = False

    def languages(self) -> list[str]:
        """Languages the record has a title in, its own language first."""
        rest = [lang for lang in LANGUAGES if lang in self.title and lang != self.language]
        return [self.language, *rest]

    def text(self, language: str) -> tuple[str, str]:
        """(title, description) in ``language``; description may fall back to the original."""
        return self.title.get(language, ""), self.description.get(language, "")

    def is_live(self, today: date) -> bool:
        """Shown in searches on ``today``: published and not expired."""
        return self.status == "published" and (self.expires_at is None or self.expires_at >= today)

    def content_hash(self) -> str:
        """Changes whenever anything a search can see changes (not contact, not timestamps)."""
        visible = {k: v for k, v in self.to_json().items() if k not in ("contact", "created_at", "updated_at")}
        return hashlib.sha1(json.dumps(visible, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("deadline", "expires_at", "created_at", "updated_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return {k: v for k, v in out.items() if v not in (None, [], {}) or k in ("id", "kind", "title")}


def _texts(raw: Any, name: str, required: bool, language: str | None = None) -> dict[str, str]:
    """Texts by language; a plain string is in ``language`` when given, else its detected one."""
    if raw is None or raw == "" or raw == {}:
        if required:
            raise RecordError(name, "is required")
        return {}
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise RecordError(name, "is empty")
        return {language or detect_language(text): text}
    if not isinstance(raw, dict):
        raise RecordError(name, "must be a string or an object keyed by language")
    out: dict[str, str] = {}
    for code, text in raw.items():
        lang = normalize_language_code(code)
        if lang is None:
            raise RecordError(name, f"unknown language {code!r} (use one of {', '.join(LANGUAGES)})")
        if not isinstance(text, str):
            raise RecordError(name, f"{code} must be a string")
        if text.strip():
            out[lang] = text.strip()
    if required and not out:
        raise RecordError(name, "is empty")
    return out


def _choice(raw: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    if raw in (None, ""):
        return None
    if raw not in allowed:
        raise RecordError(name, f"must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


def _words(raw: Any, name: str) -> list[str]:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[;,|]", raw)]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise RecordError(name, "must be a list of strings")
    return [x.strip() for x in raw if x.strip()]


def _date(raw: Any, name: str) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise RecordError(name, f"must be a date YYYY-MM-DD, not {raw!r}") from None


def _datetime(raw: Any, name: str) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise RecordError(name, f"must be an ISO date-time, not {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _trl(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    whole = (isinstance(raw, int) and not isinstance(raw, bool)) or (isinstance(raw, str) and raw.strip().isdigit())
    if not whole or not 1 <= int(raw) <= 9:
        raise RecordError("trl", f"must be a whole number from 1 to 9, not {raw!r}")
    return int(raw)


def _contact(raw: Any) -> dict[str, str]:
    if raw in (None, "", {}):
        return {}
    if isinstance(raw, str):
        raw = {"email": raw} if "@" in raw else {"phone": raw}
    if not isinstance(raw, dict):
        raise RecordError("contact", "must be an object")
    contact = {k: str(v).strip() for k, v in raw.items() if v not in (None, "")}
    if "email" in contact and not _EMAIL.match(contact["email"]):
        raise RecordError("contact.email", f"is not an e-mail address: {contact['email']!r}")
    return contact


def parse_record(raw: dict[str, Any]) -> Record:
    """Validate one raw record (from JSON or CSV) into a :class:`Record`."""
    if not isinstance(raw, dict):
        raise RecordError("record", "must be a JSON object")
    rid = raw.get("id")
    if rid in (None, ""):
        raise RecordError("id", "is required")
    rid = str(rid).strip()
    if not rid or not rid.isprintable() or len(rid) > MAX_ID:
        raise RecordError(
            "id", f"must be 1-{MAX_ID} printable characters, without line breaks or tabs (got {rid[:120]!r})"
        )
    kind = raw.get("kind")
    if kind in (None, ""):
        raise RecordError("kind", "is required")
    _choice(kind, "kind", KINDS)
    plain = [text for key in ("title", "description") if isinstance(text := raw.get(key), str) and text.strip()]
    # A plain title and description are one text: detected together, they share a language.
    together = detect_language("\n".join(plain)) if len(plain) == 2 else None
    title = _texts(raw.get("title"), "title", required=True, language=together)
    description = _texts(raw.get("description"), "description", required=False, language=together)
    language = normalize_language_code(raw.get("language")) if raw.get("language") else None
    if raw.get("language") and language is None:
        raise RecordError("language", f"must be one of {', '.join(LANGUAGES)}")
    language = language or next(iter(title))
    if language not in title:
        raise RecordError("title", f"has no text in the record's language {language}")
    country = raw.get("country")
    if country not in (None, ""):
        code = country_code(country) if isinstance(country, str) else None
        if code is None:
            raise RecordError(
                "country", f"must be an ISO 3166 code such as VN or a country name such as Viet Nam, not {country!r}"
            )
        country = code
    sector = raw.get("sector")
    if sector is not None and not isinstance(sector, str):
        raise RecordError("sector", "must be a string")
    if sector and len(sector.strip()) > 60:  # the database's column (PostgreSQL refuses longer text)
        raise RecordError("sector", "must be at most 60 characters")
    seeking = _choice(raw.get("seeking"), "seeking", SEEKING)
    if seeking and kind != "request":
        raise RecordError("seeking", "only a request seeks something")
    partnership = _words(raw.get("partnership"), "partnership")
    for item in partnership:
        _choice(item, "partnership", PARTNERSHIPS)
    sample = raw.get("sample", False)
    if isinstance(sample, str):
        sample = sample.strip().lower() in ("1", "true", "yes")
    return Record(
        id=rid,
        kind=kind,
        title=title,
        language=language,
        seeking=seeking or ("technology" if kind == "request" else None),
        description=description,
        sector=(sector or "").strip().lower() or None,
        country=country or None,
        organization=(str(raw["organization"]).strip() or None) if raw.get("organization") else None,
        trl=_trl(raw.get("trl")),
        ip_status=_choice(raw.get("ip_status"), "ip_status", IP_STATUSES),
        partnership=partnership,
        tags=_words(raw.get("tags"), "tags"),
        contact=_contact(raw.get("contact")),
        status=_choice(raw.get("status"), "status", STATUSES) or "published",
        deadline=_date(raw.get("deadline"), "deadline"),
        expires_at=_date(raw.get("expires_at"), "expires_at"),
        created_at=_datetime(raw.get("created_at"), "created_at"),
        updated_at=_datetime(raw.get("updated_at"), "updated_at"),
        sample=bool(sample),
    )
