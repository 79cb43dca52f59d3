"""A local Telegram Bot API server for tests, demos and benchmarks.

Telegram's servers are unreachable where TechConnect is tested, so this package speaks
the Bot API over real HTTP on loopback. The real python-telegram-bot ``Bot`` and
``Application`` talk to it unchanged (``base_url``/``base_file_url``), which exercises
PTB's own request encoding, response parsing and exception mapping. The emulator also
plays the Telegram side: simulated users send messages, press buttons and edit, and
failures (blocked users, deleted topics, flood limits) can be injected with the
server's real error texts.
"""

from .html import parse_html
from .limits import Limits
from .protocol import BotApiError, Upload
from .server import BotApiEmulator

__all__ = ["BotApiEmulator", "BotApiError", "Limits", "Upload", "parse_html"]
