"""The gettext catalogs (``<locale>/LC_MESSAGES/messages.po``), a package so that an installed
wheel carries them as package data and ``bot.i18n`` finds them the same way in a checkout."""
