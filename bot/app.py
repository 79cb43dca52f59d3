"""The one place that wires the Application: services, handlers, error handler, rate limiter,
health and metrics, and the process's logging."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections import deque
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, CallbackQueryHandler

from bot import router
from bot.bootstrap import open_catalog, open_engine
from bot.clock import Clock
from bot.config import Settings
from bot.db import BotStore
from bot.delivery import recover, retry_after
from bot.handlers import errors
from bot.handlers.private import discover, entries, events, handoff, matches, start, submit, subscribe
from bot.handlers.staff import catalog_files, reports, review, tickets
from bot.handlers.staff import events as staff_events
from bot.handlers.staff import matches as staff_matches
from bot.health import Health
from bot.i18n import DEFAULT_LANGUAGE, gettext_for
from bot.inbox import DurableQueue
from bot.metrics import CountedJobQueue, Metrics, count_failed_job
from bot.ordering import ConversationOrder
from bot.services import Services
from bot.ui_language import MENU_LANGUAGES, commands
from bot.workers import HEARTBEAT, Workers, alone, worker_name

log = logging.getLogger("techconnect")


SEND_TIMEOUT = 30.0  # seconds: a send answered late is waited for, not sent twice
OUTBOX_INTERVAL = 5  # seconds between attempts at messages that had to wait


class Pace:
    """What the paces below share: callers take turns, calls under way hold their place until
    answered, and a 429 holds every call back."""

    def __init__(self) -> None:
        self._under_way = 0
        self._held_until = 0.0
        self._turn = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Telegram's 429: no call for ``seconds``."""
        self._held_until = max(self._held_until, asyncio.get_running_loop().time() + seconds)


class Window(Pace):
    """At most ``allowed`` messages in any ``period`` seconds, the way Telegram counts a group's
    20 a minute (a burst of 20 uses the whole minute); callers wait their turn in order.

    A message counts from when its call was answered: Telegram counts it somewhere between the
    request and the answer, so a window counted from the request runs ahead of Telegram's by the
    call's latency, and its edge meets 429s. Calls under way keep their place until answered."""

    def __init__(self, allowed: int, period: float) -> None:
        super().__init__()
        self.allowed, self.period = allowed, period
        self._answered: deque[float] = deque()
        self._answer = asyncio.Event()

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._turn:
            while (ready := self._ready_at(loop.time())) is None or ready > loop.time():
                if ready is None:  # every place is taken by a call under way
                    self._answer.clear()
                    await self._answer.wait()
                else:
                    await asyncio.sleep(ready - loop.time())
            self._under_way += 1

    async def __aexit__(self, *exc_info) -> None:
        self._under_way -= 1
        self._answered.append(asyncio.get_running_loop().time())
        self._answer.set()

    def room(self) -> int:
        """How many messages the window would take now."""
        moment = asyncio.get_running_loop().time()
        return self.allowed - self._under_way - sum(1 for answered in self._answered if answered > moment - self.period)

    def _ready_at(self, moment: float) -> float | None:
        """When the next call may go; None when only an answer to a call under way can tell."""
        while self._answered and self._answered[0] <= moment - self.period:
            self._answered.popleft()
        if len(self._answered) + self._under_way < self.allowed:
            return self._held_until
        return max(self._held_until, self._answered[0] + self.period) if self._answered else None


class Bucket(Pace):
    """About one message a second in a private chat, with bursts of ``burst``: Telegram's token
    bucket, refilled by one every ``period`` seconds. As in :class:`Window`, a message is counted
    when its call was answered, and calls under way hold their token until then."""

    def __init__(self, burst: int, period: float) -> None:
        super().__init__()
        self.burst, self.period = burst, period
        self._tokens, self._at = float(burst), 0.0

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._turn:
            while (wait := self._wait(loop.time())) > 0:
                await asyncio.sleep(wait)
            self._under_way += 1

    async def __aexit__(self, *exc_info) -> None:
        self._refill(asyncio.get_running_loop().time())
        self._tokens -= 1
        self._under_way -= 1

    def _refill(self, moment: float) -> None:
        self._tokens = min(float(self.burst), self._tokens + (moment - self._at) / self.period)
        self._at = moment

    def _wait(self, moment: float) -> float:
        self._refill(moment)
        free = self._tokens - self._under_way
        refill = 0.0 if free >= 1 else (1 - free) * self.period
        if refill and self._under_way:  # an answer may come sooner than the refill: look again shortly
            refill = min(refill, self.period / 10)
        return max(self._held_until - moment, refill)


class RetryingRateLimiter(BaseRateLimiter):
    """Telegram's flood limits: 30 messages a second overall, 20 in any minute per group, about one
    a second per private chat with short bursts of three (Telegram's token bucket); reads never
    wait. A 429 holds back the chat it came from (waited out here, a few times, then left to the
    caller: the outbox keeps the row), never the other chats: PTB's own limiter would pause every
    call of the bot. Network errors that certainly did not reach Telegram are retried, and every
    429 is counted. A timeout is not retried here: Telegram may have performed the call, and the
    outbox decides what to do with messages that must arrive. A button press handled again after a
    restart is too old to answer; that answer is skipped, not an error.

    ``time_scale`` shrinks every period, for tests against an emulator that enforces the same
    scaled limits."""

    NETWORK_RETRIES = 3
    RETRIES_AFTER_429 = 3
    OVERALL_PER_SECOND = 30
    GROUP_PER_MINUTE = 20
    PRIVATE_BURST = 3

    def __init__(self, metrics: Metrics, time_scale: float = 1.0) -> None:
        self._too_many_requests = metrics.too_many_requests.labels("rate_limiter")
        self._time_scale = time_scale
        self._overall = Window(self.OVERALL_PER_SECOND, time_scale)
        self._chats: dict[int, Window] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def room(self, chat_id: int) -> int:
        """How many messages the group would take now (the outbox shares messages when few are left)."""
        window = self._chats.get(chat_id)
        return window.room() if window else self.GROUP_PER_MINUTE

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args) -> Any:
        call = self._attempts(callback, args, kwargs, endpoint)
        if endpoint.startswith("get"):  # reads post nothing: they never wait
            return await call()
        try:
            return await self._paced(call, endpoint, data.get("chat_id"))
        except BadRequest as exc:  # a tap handled again after a restart: only its spinner is gone
            if endpoint != "answerCallbackQuery" or "query is too old" not in exc.message.lower():
                raise
            log.info("answer to an old button press skipped")
            return True

    async def _paced(self, call, endpoint: str, chat_id: object) -> Any:
        """A message waits for the overall pace and its chat's; after a 429 the call's chat waits."""
        posts = (
            isinstance(chat_id, int)
            and endpoint.startswith(("send", "copy", "forward"))
            and endpoint != "sendChatAction"
        )
        chat = self._window(chat_id) if posts else None
        for attempt in range(self.RETRIES_AFTER_429 + 1):
            try:
                if chat is None:
                    return await call()
                async with chat, self._overall:
                    return await call()
            except RetryAfter as exc:
                if attempt == self.RETRIES_AFTER_429:
                    raise
                wait = retry_after(exc).total_seconds()
                if chat is None:
                    await asyncio.sleep(wait)
                else:
                    chat.hold(wait)
        raise AssertionError("unreachable")

    def _window(self, chat_id: int) -> Window | Bucket:
        if chat_id not in self._chats:
            self._chats[chat_id] = (
                Bucket(self.PRIVATE_BURST, self._time_scale)
                if chat_id > 0
                else Window(self.GROUP_PER_MINUTE, 60 * self._time_scale)
            )
        return self._chats[chat_id]

    def _attempts(self, callback, args, kwargs, endpoint: str):
        """The call, tried again after a network error that certainly did not reach Telegram; 429s counted."""

        async def call() -> Any:
            for attempt in range(self.NETWORK_RETRIES + 1):
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter:
                    self._too_many_requests.inc()
                    raise
                except NetworkError as exc:
                    if isinstance(exc, (BadRequest, TimedOut)) or attempt == self.NETWORK_RETRIES:
                        raise
                    log.warning("network error on %s (%s); retrying", endpoint, type(exc).__name__)
                    await asyncio.sleep(0.5 * 2**attempt)
            raise AssertionError("unreachable")

        return call


async def build_services(settings: Settings) -> Services:
    """Open the database (migrated, an empty catalogue seeded) and bring the index up to date."""
    catalog = await open_catalog(seed=True)
    store = BotStore(catalog.engine)
    engine, _, _ = await open_engine(catalog)
    services = Services(
        settings=settings,
        catalog=catalog,
        store=store,
        engine=engine,
        workers=Workers(store, worker_name(settings)),
        clock=Clock(settings.office_hours.zone),
    )
    if requeued := await recover(services):
        log.info("%s outbox messages interrupted by a stop will be sent again", requeued)
    return services


async def start_up(application: Application) -> None:
    """Before the first new update: the health server (when configured), what a stop left
    unhandled, then the command menus."""
    if health := application.bot_data.get("health"):
        settings = application.bot_data["services"].settings
        await health.start(settings.health_listen, settings.health_port)
    await application.bot_data["services"].workers.beat()
    if replayed := await application.update_queue.replay(application.bot, starting=True):
        log.info("%s updates left unhandled by a stop are handled again", replayed)
    await set_commands(application)


async def shut_down(application: Application) -> None:
    """Background deliveries stop with the bot; their rows are delivered after the next start."""
    await application.bot_data["services"].outbox.stop()
    if health := application.bot_data.get("health"):
        await health.stop()


async def set_commands(application: Application) -> None:
    """Localized command menus: one per Telegram language, English for everyone else; staff's own."""
    for code, language in [(None, DEFAULT_LANGUAGE), *MENU_LANGUAGES.items()]:
        await application.bot.set_my_commands(commands(language), language_code=code)
    settings = application.bot_data["services"].settings
    if settings.staff_chat_id is not None:
        _ = gettext_for(settings.staff_language)
        try:
            await application.bot.set_my_commands(
                [BotCommand(name, _(description)) for name, description in tickets.COMMANDS],
                scope=BotCommandScopeChat(settings.staff_chat_id),
            )
        except (BadRequest, Forbidden) as exc:
            log.warning("staff command menu not set (is the bot in the staff group?): %s", exc)


async def keep_alive(context) -> None:
    """Job: this worker is alive; it takes over what workers that stopped had left unhandled."""
    await context.bot_data["services"].workers.beat()
    if adopted := await context.application.update_queue.replay(context.bot, starting=False):
        log.info("%s updates left by a stopped worker are handled here", adopted)


async def deliver_outbox(context) -> None:
    """Job: what had to wait (429, staff group unreachable, network) is delivered, in order."""
    services = context.bot_data["services"]
    await services.outbox.drain_all(context.bot, services)


def build_application(
    services: Services,
    *,
    rate_limits: bool = True,
    ordered: bool = True,
) -> Application:
    """The bot; ``rate_limits=False`` and ``ordered=False`` (updates of one chat at once) only to
    measure handling cost apart from Telegram's limits and from per-conversation ordering."""
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .concurrent_updates(ConversationOrder(services.workers, services.metrics, ordered=ordered))
        .job_queue(CountedJobQueue(services.metrics))
        .update_queue(DurableQueue(services.workers))
        .read_timeout(SEND_TIMEOUT)
        .write_timeout(SEND_TIMEOUT)
        .post_init(start_up)
        .post_stop(shut_down)
    )
    if rate_limits:
        builder = builder.rate_limiter(RetryingRateLimiter(services.metrics, settings.time_scale))
    application = builder.build()
    application.bot_data["services"] = services
    leaving, routers = router.handlers(settings.staff_chat_id)
    application.add_handlers(leaving, group=-1)  # a command or the menu leaves a form before it runs
    for group in (
        start.HANDLERS,
        submit.HANDLERS,
        entries.HANDLERS,
        matches.HANDLERS,
        handoff.HANDLERS,
        events.HANDLERS,
        subscribe.HANDLERS,
        discover.HANDLERS,  # private chats
        review.HANDLERS,
        staff_matches.HANDLERS,
        tickets.handlers(),
        staff_events.HANDLERS,
        catalog_files.HANDLERS,  # staff
        reports.HANDLERS,
        routers,
    ):
        application.add_handlers(group)
    application.add_handlers(
        catalog_files.document_handlers(settings.staff_chat_id), group=1
    )  # beside the ticket relay, not instead
    application.add_handler(CallbackQueryHandler(start.on_unknown_button))  # after every other button handler
    application.add_error_handler(errors.on_error)
    application.add_error_handler(count_failed_job)
    application.job_queue.run_repeating(
        alone(deliver_outbox), interval=OUTBOX_INTERVAL, first=OUTBOX_INTERVAL, name="outbox"
    )
    if services.workers.shared:
        application.job_queue.run_repeating(keep_alive, interval=HEARTBEAT, first=HEARTBEAT, name="keep_alive")
    entries.schedule(application)
    catalog_files.schedule(application)
    events.schedule(application)
    subscribe.schedule(application)
    if settings.staff_chat_id is not None:
        tickets.schedule(application)
        reports.schedule(application)
    if settings.health_port is not None:
        application.bot_data["health"] = health = Health(services)
        health.schedule(application)
    return application


UPDATES = ["message", "edited_message", "callback_query"]


def webhook_arguments(settings: Settings) -> dict[str, Any]:
    """``run_webhook``'s arguments: it listens on the URL's path, since a reverse proxy that forwards
    https://host/tg/hook unchanged would otherwise meet a 404 at /tg/hook."""
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": urlsplit(settings.webhook_url).path.strip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": UPDATES,
    }


class LogRedaction(logging.Filter):
    """Secrets out of every record; message contents out of PTB's and aiosqlite's debug lines, which
    carry the parameters and results of every call, the updates received and the rows written
    (whatever users typed)."""

    PAYLOADS: ClassVar[dict[str, str]] = {
        "Calling Bot API endpoint `%s` with parameters `%s`": "Calling Bot API endpoint `%s`",
        "Call to Bot API endpoint `%s` finished with return value `%s`": "Call to Bot API endpoint `%s` finished",
        "Processing update %s": "Processing an update",
        "Webhook received data: %s": "Webhook received data",
        "executing %s": "executing a database call",
        "operation %s completed": "database call completed",
        "Something went wrong processing the data received from Telegram. Received data was *not* processed! Received data was: %r": "Something went wrong processing the data received from Telegram. Received data was *not* processed!",
    }

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(("telegram", "aiosqlite")) and record.msg in self.PAYLOADS:
            record.msg = self.PAYLOADS[record.msg]
            record.args = record.args[: record.msg.count("%s")] if isinstance(record.args, tuple) else ()
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging reports it when the record is emitted
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
            record.exc_text = record.exc_text and record.exc_text.replace(secret, "[redacted]")
        record.msg, record.args = text, ()
        return True


_redaction = LogRedaction()


def redact_logs(settings: Settings) -> None:
    """Keep the token and the webhook secret out of every log record, whoever logs it.

    Records pass the filter as they are made: a handler's filter would miss handlers added
    later (the demo's, pytest's), a logger's filter the records of other loggers (httpx, PTB).
    """
    if not _redaction.secrets:
        make_record = logging.getLogRecordFactory()

        def redacted_record(*args, **kwargs) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            _redaction.filter(record)
            return record

        logging.setLogRecordFactory(redacted_record)
    _redaction.secrets.update(secret for secret in (settings.token, settings.webhook_secret) if secret)


class JsonLines(logging.Formatter):
    """A JSON object a line, for log collectors: time, level, logger and message (written with ids
    and kinds only; PTB's payload lines are cut by :class:`LogRedaction`), and for an exception
    its type and where it was raised, never its text: an exception's text may quote a database
    row or what a user typed."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            kind, _exc, trace = record.exc_info
            line["exception"] = kind.__name__
            line["trace"] = [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in traceback.extract_tb(trace)]
        return json.dumps(line, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """The process's log lines: plain text or JSON (``TECHCONNECT_LOG_FORMAT``), secrets redacted."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLines()
        if settings.log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(handlers=[handler], level=settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request: noise
    redact_logs(settings)


def run(settings: Settings) -> None:
    """``techconnect run``: long polling, or a webhook with Telegram's secret token when configured."""
    configure_logging(settings)

    async def prepare() -> Services:
        services = await build_services(settings)
        await services.store.engine.dispose()  # its connections belong to this loop, not the bot's
        return services

    application = build_application(asyncio.run(prepare()))
    if settings.webhook_url:
        application.run_webhook(**webhook_arguments(settings))
    else:
        application.run_polling(allowed_updates=UPDATES)
