"""A local Telegram Bot API server for tests, demos and benchmarks.

Telegram's servers are unreachable where TechConnect is tested, so this package speaks
the Bot API over real HTTP on loopback. The real python-telegram-bot ``Bot`` and
``Application`` talk to it unchanged (``base_url``/``base_file_url``), which exercises
PTB's own request encoding, response parsing and exception mapping. The emulator also
plays the Telegram side: simulated users send messages, press buttons and edit, and
failures (blocked users, deleted topics, flood limits, late answers) can be injected
with the server's real error texts.

One job per module: ``protocol`` the wire format, ``html`` the entity parser, ``world``
users, chats, topics and messages, ``updates`` the update queue, long polling and
webhooks, ``methods`` the Bot API methods, ``limits`` Telegram's flood limits, ``spec``
conformance with the published Bot API reference, ``server`` HTTP and dispatch.
"""

from .html import parse_html
from .limits import Limits
from .protocol import BotApiError, Upload
from .server import BotApiEmulator

__all__ = ["BotApiEmulator", "BotApiError", "Limits", "Upload", "parse_html"]
