"""Who is staff, and what staff read: membership of the staff group (or a configured id), the
staff language, and the guards of staff commands (personal data only where no outsider reads)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import ContextTypes

from bot.i18n import gettext_for
from bot.services import current_user, services


async def is_staff(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> bool:
    svc = services(context)
    if user_id in svc.settings.staff_ids:
        return True
    if svc.settings.staff_chat_id is None:
        return False
    try:
        member = await context.bot.get_chat_member(svc.settings.staff_chat_id, user_id)
    except (BadRequest, Forbidden, NetworkError):
        return False
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER)


def staff_gettext(context: ContextTypes.DEFAULT_TYPE):
    return gettext_for(services(context).settings.staff_language)


async def staff_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True for staff; anyone else is told, in their language, that the command is not for them."""
    if await is_staff(context, update.effective_user.id):
        return True
    _user, language = await current_user(update, context)
    _ = gettext_for(language)
    await update.effective_message.reply_text(_("This command is for department staff."))
    return False


async def staff_data_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """``staff_only``, and only where no outsider reads along (contacts, phones): the staff group
    or the staff member's private chat with the bot; anywhere else a short refusal."""
    if not await staff_only(update, context):
        return False
    chat = update.effective_chat
    if chat.type == ChatType.PRIVATE or chat.id == services(context).settings.staff_chat_id:
        return True
    staff_ = staff_gettext(context)
    await update.effective_message.reply_text(
        staff_("This command works only in the staff group or in a private chat with me.")
    )
    return False
