"""The contact details staff need for an introduction, asked one at a time and checked.

Shared by the handoff form and the posting form, so a user who gave them once is not asked again.
"""
from __future__ import annotations

import re

from bot.i18n import N_

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
    "reach": N_("That does not look like a phone number or an e-mail address, e.g. +84 912 345 678 or name@company.vn."),
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
