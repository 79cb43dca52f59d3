"""HTTP plumbing: the aiohttp server, token check, dispatch to the method handlers, fault injection."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from .limits import FloodControl, Limits, creates_message, retry_after_seconds
from .methods import Methods
from .protocol import JSON, BotApiError, _decode, _dumps, _read_raw
from .spec import conformance, refusal
from .updates import Updates, _Webhook
from .world import _Chat, _File

_MAX_BODY = 64 * 1024 * 1024


class BotApiEmulator(Methods, Updates):
    """Bot API server plus simulated Telegram users, on 127.0.0.1 over real HTTP.

    Simplifications: the bot is an administrator of every group, sees every group message
    (privacy mode off), may message users who never started it, and MarkdownV2 text is
    stored unparsed. Everything else aims at the server's behaviour and error texts.
    ``limits`` turns on Telegram's flood limits (off by default, as most tests send in bursts).
    Every call is checked against the published Bot API reference when it is found
    (``spec.py``): a call that departs from it is refused and listed in ``violations``.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "techconnect_bot",
        bot_name: str = "TechConnect",
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '123456:secret'")
        self.token = token
        self.bot_id = int(bot_id)
        self._me: JSON = {"id": self.bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username}
        self._host = host
        self._port = port
        self.base_url = ""
        self.base_file_url = ""
        self.calls: list[tuple[str, JSON]] = []
        self.callback_answers: list[JSON] = []
        self.rate_limited: list[tuple[str, int]] = []  # (method, chat_id) of every 429 the limits gave
        self.violations: list[str] = []  # "method: parameter: problem" for every call against the Bot API reference
        self._conformance = conformance()
        self._flood_control = FloodControl(limits) if limits is not None else None
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, _File] = {}
        self._file_paths: dict[str, str] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._open_queries: set[str] = set()
        self._floods: dict[str, list] = {}  # method -> [retry_after, times, chat_id or None]
        self._late: dict[str, list[float]] = {}
        self._queue: deque[JSON] = deque()
        self._allowed: frozenset[str] | None = None
        # like Telegram, update ids start at an arbitrary number, so two emulators never share one
        self._last_update_id = secrets.randbelow(2**30) * 16
        self._poll_generation = 0
        self._bot_events: list[JSON] = []
        self._mark = 0
        self._inflight = 0
        self._last_activity = 0.0
        self._cond = asyncio.Condition()
        self._closing = False
        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._seq = itertools.count(1)
        self._handlers: dict[str, Callable[[JSON], Any]] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "logOut": lambda params: True,
                "close": lambda params: True,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "sendPhoto": lambda params: self._send_media("photo", params),
                "sendDocument": lambda params: self._send_media("document", params),
                "sendVoice": lambda params: self._send_media("voice", params),
                "sendVideo": lambda params: self._send_media("video", params),
                "sendSticker": lambda params: self._send_media("sticker", params),
                "copyMessage": lambda params: self._copy(params, forward=False),
                "forwardMessage": lambda params: self._copy(params, forward=True),
                "editMessageText": lambda params: self._edit(params, "text"),
                "editMessageCaption": lambda params: self._edit(params, "caption"),
                "editMessageReplyMarkup": lambda params: self._edit(params, "reply_markup"),
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": lambda params: list(self._commands.get(self._commands_key(params), [])),
                "deleteMyCommands": self._delete_my_commands,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "sendChatAction": self._send_chat_action,
                "createForumTopic": self._create_forum_topic,
                "editForumTopic": self._edit_forum_topic,
                "closeForumTopic": lambda params: self._close_forum_topic(params, closed=True),
                "reopenForumTopic": lambda params: self._close_forum_topic(params, closed=False),
                "deleteForumTopic": self._delete_forum_topic,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "getFile": self._get_file,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one) and fill in the base URLs."""
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        host, port = self._runner.addresses[0][:2]
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.base_url = f"http://{netloc}/bot"
        self.base_file_url = f"http://{netloc}/file/bot"
        self._session = ClientSession(timeout=ClientTimeout(total=10))
        self._closing = False

    async def stop(self) -> None:
        """End long polls at once, stop webhook delivery and close the server."""
        self._closing = True
        await self._notify()
        await self._stop_webhook_task()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[JSON]:
        """Parameters of every call of one method, e.g. ``calls_to("sendMessage")``."""
        key = method.lower()
        return [params for name, params in self.calls if name.lower() == key]

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set for exactly this (scope, language_code) pair."""
        return list(self._commands.get(self._commands_key({"scope": scope, "language_code": language_code}), []))

    @property
    def webhook_url(self) -> str:
        return self._webhook.url if self._webhook else ""

    # ------------------------------------------------------------------ failure injection

    def flood(self, method: str, retry_after: int = 1, times: int = 1, *, chat_id: int | None = None) -> None:
        """The next `times` calls of method (to ``chat_id`` only, when given: Telegram's flood
        limits are per chat) answer 429 with parameters.retry_after."""
        if retry_after < 1 or times < 1:
            raise ValueError("retry_after and times must be positive")
        self._floods[method.lower()] = [retry_after, times, chat_id]

    def answer_late(self, method: str, delay: float, times: int = 1) -> None:
        """The next `times` successful calls of method are performed at once but answered after delay seconds.

        Reproduces a call Telegram performed while the bot timed out waiting: the bot must
        not assume that a timed-out send did not happen.
        """
        if delay <= 0 or times < 1:
            raise ValueError("delay and times must be positive")
        self._late[method.lower()] = [delay, times]

    # ------------------------------------------------------------------ HTTP plumbing

    async def _api(self, request: web.Request) -> web.Response:
        """Every Bot API call: check token, reference and limits, dispatch, answer like the server."""
        if request.match_info["token"] != self.token:
            return self._respond(BotApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        key = method.lower()
        polling = key == "getupdates"
        loop = asyncio.get_running_loop()
        if not polling:
            self._inflight += 1
            self._last_activity = loop.time()
        try:
            raw = await _read_raw(request)
            problems = self._conformance.check(method, raw) if self._conformance is not None else []
            self.violations += [problem.describe(method) for problem in problems]
            params = _decode(raw)
            self.calls.append((method, params))
            if problems:
                raise refusal(problems)
            handler = self._handlers.get(key)
            if handler is None and not polling:
                raise BotApiError(404, "Not Found")
            chat_id = params.get("chat_id")
            self._take_flood(key, chat_id)
            limited = self._flood_control is not None and creates_message(key) and isinstance(chat_id, int)
            if limited:
                self._enforce_limits(method, chat_id)
            result = await self._get_updates(params) if handler is None else handler(params)
            if limited:
                self._flood_control.record(chat_id, private=chat_id > 0)
            response = web.Response(body=_dumps({"ok": True, "result": result}), content_type="application/json")
            delay = self._take_late(key)
            if delay:
                await asyncio.sleep(delay)
        except BotApiError as exc:
            response = self._respond(exc)
        finally:
            if not polling:
                self._inflight -= 1
                self._last_activity = loop.time()
                await self._notify()
        return response

    @staticmethod
    def _respond(error: BotApiError) -> web.Response:
        return web.Response(status=error.code, body=_dumps(error.body()), content_type="application/json")

    async def _download(self, request: web.Request) -> web.Response:
        """Serve file contents under base_file_url, as getFile's file_path promises."""
        file_id = self._file_paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or file_id is None:
            return self._respond(BotApiError(404, "Not Found"))
        return web.Response(body=self._files[file_id].data, content_type="application/octet-stream")

    def _take_flood(self, key: str, chat_id: object) -> None:
        rule = self._floods.get(key)
        if rule is None or rule[2] not in (None, chat_id):
            return
        rule[1] -= 1
        if rule[1] <= 0:
            del self._floods[key]
        raise BotApiError(429, f"Too Many Requests: retry after {rule[0]}", retry_after=rule[0])

    def _enforce_limits(self, method: str, chat_id: int) -> None:
        """Refuse a message over Telegram's flood limits (user ids are positive, group ids negative)."""
        assert self._flood_control is not None
        wait = self._flood_control.wait(chat_id, private=chat_id > 0)
        if wait > 0:
            self.rate_limited.append((method, chat_id))
            seconds = retry_after_seconds(wait)
            raise BotApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)

    def _take_late(self, key: str) -> float:
        rule = self._late.get(key)
        if rule is None:
            return 0.0
        rule[1] -= 1
        if rule[1] <= 0:
            del self._late[key]
        return rule[0]
