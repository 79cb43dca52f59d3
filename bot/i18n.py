"""UI strings in the user's language, from the Babel gettext catalogs in ``locales/``.

The ``.po`` files are compiled in memory at start-up, so a fresh checkout needs no build step
and a translator's edit shows after a restart. ``N_`` marks a string for extraction without
translating it (its text is looked up later, in the reader's language); code that shows text
does ``_ = gettext_for(language)`` and writes ``_("...")`` as usual.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import locales
from catalog.language import BABEL_LOCALES, LANGUAGES

LOCALES_DIR = Path(locales.__file__).parent
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {
    "vi": "Tiếng Việt",
    "en": "English",
    "zh-Hant": "繁體中文",
    "zh-Hans": "简体中文",
    "ja": "日本語",
    "ko": "한국어",
}


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


@cache
def _catalog(language: str) -> Catalog | None:
    po = LOCALES_DIR / BABEL_LOCALES.get(language, "en") / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return None
    with po.open("rb") as handle:
        return read_po(handle, locale=BABEL_LOCALES[language])


@cache
def translations(language: str) -> gettext.NullTranslations:
    catalog = _catalog(language)
    if catalog is None:
        return gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def translations_containing(fragment: str) -> set[str]:
    """Every translation of every message whose English text contains ``fragment`` (any case)."""
    fragment = fragment.lower()
    return {
        message.string
        for language in LANGUAGES
        if (catalog := _catalog(language)) is not None
        for message in catalog
        if isinstance(message.id, str) and message.string and fragment in message.id.lower()
    }


def gettext_for(language: str):
    """The ``gettext`` function of ``language``: ``t = gettext_for("vi"); t("Help")``."""
    return translations(language if language in LANGUAGES else DEFAULT_LANGUAGE).gettext


def plural_for(language: str):
    """The ``ngettext`` of ``language``, for counts: ``ngettext = plural_for("en");
    ngettext("{count} entry", "{count} entries", count).format(count=count)`` (name it ``ngettext``
    so that extraction finds its strings)."""
    return translations(language if language in LANGUAGES else DEFAULT_LANGUAGE).ngettext


def translate(language: str, message: str) -> str:
    """``message`` in ``language``, for one string (extracted with the keyword ``translate:2``)."""
    return gettext_for(language)(message)
