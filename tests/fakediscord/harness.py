"""Run the fake Discord and a real discord.py client on one background event loop.

Synchronous pytest tests drive it through :class:`DiscordHarness`; everything that
touches the fake or the client runs on the harness loop via :meth:`DiscordHarness.call`.
Without a client factory the harness runs the fake alone (standalone), for bots in other
processes: start them with ``launch.py`` and ``harness.fake.launch_env()``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import inspect
import logging
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

import yarl

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop (deprecated since 3.11); under -W error that
    # import alone would fail, although nothing here touches voice.
    warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
    import discord
    from discord.gateway import DiscordWebSocket, KeepAliveHandler
    from discord.http import Route

from .models import InteractionRecord
from .server import FakeDiscord

log = logging.getLogger(__name__)

T = TypeVar("T")


class _ErrorCollector(logging.Handler):
    """Keeps ERROR records from any logger: discord.py's "Ignoring exception in command", the bot's own."""

    def __init__(self) -> None:
        """Collect at ERROR and above."""
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Store the record."""
        self.records.append(record)


ClientFactory = Callable[[], discord.Client] | Callable[[FakeDiscord], discord.Client]


class DiscordHarness:
    """A fake Discord plus a real, unpatched discord.py client, driven synchronously from tests.

    Only one harness with a client may run at a time: the URL patch is process-wide (class
    attributes). A standalone harness (``client_factory=None``) patches nothing.
    """

    _active: DiscordHarness | None = None

    def __init__(
        self,
        client_factory: ClientFactory | None,
        *,
        token: str = "fake-bot-token",
        client_token: str | None = None,
        heartbeat_interval: float = 0.25,
        ack_deadline: float = 3.0,
        wait_for_sync: bool = True,
        ready_timeout: float = 15.0,
        lag_probe_interval: float = 0.02,
        fake_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Configure; :meth:`start` (or ``with``) runs it.

        ``client_factory`` is called on the harness loop after the fake is up; it may take
        the :class:`FakeDiscord` (for its ``guild_id`` etc.) or no argument. ``None`` runs the
        fake alone: no client, no URL patch, nothing awaited but the fake's port.
        ``client_token`` (what the client logs in with) defaults to the fake's ``token``.
        """
        self.client_factory = client_factory
        self.token = token
        self.client_token = token if client_token is None else client_token
        self.heartbeat_interval = heartbeat_interval
        self.ack_deadline = ack_deadline
        self.wait_for_sync = wait_for_sync
        self.ready_timeout = ready_timeout
        self.lag_probe_interval = lag_probe_interval
        self.fake_kwargs = dict(fake_kwargs or {})
        # Created in start(), so a harness that never starts leaves no loop or socket behind.
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._thread: threading.Thread | None = None
        self.fake: FakeDiscord = None  # type: ignore[assignment]  # set in start()
        self.client: discord.Client = None  # type: ignore[assignment]
        self._client_task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._lag_samples: collections.deque[tuple[float, float, float]] = collections.deque(maxlen=200_000)
        self._saved_urls: tuple[str, yarl.URL] | None = None
        self.loop_errors: list[dict[str, Any]] = []
        self._log_collector = _ErrorCollector()
        self._started = False
        self._closed = False

    # ============================================================ lifecycle
    def __enter__(self) -> DiscordHarness:
        """Start and return self."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Close."""
        self.close()

    def _run_loop(self) -> None:
        """Thread body: run the harness loop until :meth:`close` stops it."""
        asyncio.set_event_loop(self.loop)
        self.loop.set_exception_handler(self._loop_exception)
        self.loop.run_forever()

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Record unhandled loop errors (e.g. a task exception never retrieved) so tests can see them."""
        self.loop_errors.append(context)
        log.error("harness loop error: %s", context.get("message"), exc_info=context.get("exception"))

    def start(self) -> DiscordHarness:
        """Start the loop thread, the fake and the client; wait for READY and (by default) a command sync.

        Raises whatever ``client.start`` raised (e.g. ``discord.LoginFailure`` for a wrong token).
        """
        if self._started:
            return self
        if self.client_factory is not None:
            if DiscordHarness._active is not None:
                raise RuntimeError("another DiscordHarness is running; close it first (Route.BASE is process-wide)")
            DiscordHarness._active = self
        self._started = True
        logging.getLogger().addHandler(self._log_collector)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="fakediscord-loop", daemon=True)
        self._thread.start()
        try:
            self.call(self._astart(), timeout=self.ready_timeout + 10)
        except BaseException:
            self.close()
            raise
        return self

    async def _astart(self) -> None:
        """Inside the loop: fake up, URLs patched, client started, READY and sync awaited."""
        self.fake = FakeDiscord(
            self.token,
            heartbeat_interval=self.heartbeat_interval,
            ack_deadline=self.ack_deadline,
            **self.fake_kwargs,
        )
        await self.fake.start()
        self._probe_task = asyncio.create_task(self._lag_probe(), name="fakediscord-lag-probe")
        if self.client_factory is None:
            return
        self._saved_urls = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        # The only two knobs: discord.py builds REST URLs from Route.BASE and opens the
        # gateway at DEFAULT_GATEWAY (Client never asks GET /gateway/bot unless sharded).
        Route.BASE = self.fake.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.fake.gateway_url)
        self.client = self._make_client()
        self._client_task = asyncio.create_task(self.client.start(self.client_token), name="fakediscord-client")
        await self._race(self.fake.wait_ready(self.ready_timeout), "gateway READY")
        await self._race(self.client.wait_until_ready(), "client ready (on_ready)")
        if self.wait_for_sync:
            await self._race(self.fake.wait_for_sync(self.ready_timeout), "command sync")

    def _make_client(self) -> discord.Client:
        """Call the factory with the fake if it accepts an argument."""
        assert self.client_factory is not None
        try:
            params = inspect.signature(self.client_factory).parameters.values()
        except (TypeError, ValueError):
            params = []  # type: ignore[assignment]
        wants_fake = any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in params
        )
        client = self.client_factory(self.fake) if wants_fake else self.client_factory()  # type: ignore[call-arg]
        if not isinstance(client, discord.Client):
            raise TypeError(f"client_factory returned {client!r}, not a discord.Client")
        return client

    async def _race(self, aw: Awaitable[T], what: str) -> T:
        """Await ``aw`` unless the client task ends first (then re-raise its error)."""
        assert self._client_task is not None
        task = asyncio.ensure_future(aw)
        done, _ = await asyncio.wait(
            {task, self._client_task}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self._client_task in done:
            exc = self._client_task.exception()
            if exc is not None:
                raise exc
            raise RuntimeError(f"discord.py client stopped before {what}")
        raise TimeoutError(f"{what} not reached within {self.ready_timeout}s")

    async def _lag_probe(self) -> None:
        """Sleep ``lag_probe_interval`` repeatedly; oversleep = time the loop was blocked."""
        interval = self.lag_probe_interval
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(interval)
            t1 = time.monotonic()
            self._lag_samples.append((t0, t1, max(0.0, t1 - t0 - interval)))

    def close(self) -> None:
        """Stop client, fake and loop; restore the patched URLs. Safe to call twice."""
        if self._closed or self._thread is None:
            return
        self._closed = True
        try:
            if self._thread.is_alive():
                self.call(self._aclose(), timeout=30)
        finally:
            if self._thread.is_alive():
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(10)
            if not self._thread.is_alive():
                self.loop.close()
            self._restore_urls()
            logging.getLogger().removeHandler(self._log_collector)
            if DiscordHarness._active is self:
                DiscordHarness._active = None

    def _restore_urls(self) -> None:
        """Put Route.BASE and DEFAULT_GATEWAY back."""
        if self._saved_urls is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_urls
            self._saved_urls = None

    def restart_client(self, timeout: float = 30.0) -> None:
        """Stop the bot (as a process exit would) and start a new one from the factory on the same fake.

        What Discord keeps stays: messages the old bot sent (with their buttons), commands,
        members. The new client logs in, IDENTIFYs afresh and, by default, syncs again.
        """
        self.call(self._arestart(), timeout)

    async def _arestart(self) -> None:
        """Inside the loop: close the client and its heartbeat threads, then start a new one and await READY."""
        if self.client is None:
            raise RuntimeError("a standalone harness has no client to restart")
        await self._stop_client()
        identified, synced = self.fake.identify_count, len(self.fake.sync_log)
        self.client = self._make_client()
        self._client_task = asyncio.create_task(self.client.start(self.client_token), name="fakediscord-client")
        await self._race(
            self.fake.wait_until(
                lambda: self.fake.identify_count > identified and self.fake.gateway.serving(self.fake.guild_id),
                self.ready_timeout,
                "a new gateway session",
            ),
            "gateway READY after the restart",
        )
        await self._race(self.client.wait_until_ready(), "client ready (on_ready) after the restart")
        if self.wait_for_sync:
            await self._race(self.fake.wait_for_sync(self.ready_timeout, count=synced + 1), "command sync")

    async def _stop_client(self) -> None:
        """Close the client, wait for its task, and stop its heartbeat threads."""
        if self.client is not None:
            try:
                await asyncio.wait_for(self.client.close(), 10)
            except Exception:  # closing must go on; the error is logged for the test output
                log.exception("client.close() failed")
        if self._client_task is not None:
            # Its error (if any) was already surfaced by start(); here it only has to end.
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self._client_task), 5)
            if not self._client_task.done():
                self._client_task.cancel()
                await asyncio.gather(self._client_task, return_exceptions=True)
        # discord.py's heartbeat threads schedule sends onto this loop: let them finish
        # before the loop closes, or they die with "Event loop is closed" in their thread.
        for t in threading.enumerate():
            if isinstance(t, KeepAliveHandler) and t.ws.loop is self.loop:
                t.stop()
                await asyncio.to_thread(t.join, 5)

    async def _aclose(self) -> None:
        """Inside the loop: close the client, its heartbeat threads, the fake, leftover tasks, executors."""
        await self._stop_client()
        if self._probe_task is not None:
            self._probe_task.cancel()
            await asyncio.gather(self._probe_task, return_exceptions=True)
        if self.fake is not None:
            await self.fake.stop()
        # Command handlers still running (e.g. a /slow reply) would otherwise be
        # "Task was destroyed but it is pending!" when the loop closes.
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for t in leftovers:
            t.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await self.loop.shutdown_asyncgens()
        await self.loop.shutdown_default_executor()
        self._restore_urls()

    # ============================================================== calling
    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the harness loop and return its result (sync, for tests)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("DiscordHarness.call() from the harness loop itself would deadlock; await instead")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            # Since 3.11 this is the builtin TimeoutError, which the coroutine itself may raise
            # (e.g. wait_final): only a still-running future means the call timed out.
            if fut.done():
                raise
            fut.cancel()
            raise TimeoutError(f"harness call did not finish within {timeout}s") from None

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a plain function on the loop thread (for fake state that must not race the loop)."""

        async def _inner() -> T:
            return fn(*args, **kwargs)

        return self.call(_inner())

    # ============================================================ driving
    def member(
        self,
        user_id: int | None = None,
        name: str = "member",
        permissions: str | None = None,
        roles: Iterable[int | str] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``fake.member(...)`` on the loop thread."""
        if permissions is not None:
            kwargs["permissions"] = permissions
        return self.run(self.fake.member, user_id, name, roles=roles, **kwargs)

    def host_attachment(
        self, filename: str, data: bytes, content_type: str = "text/plain; charset=utf-8"
    ) -> dict[str, Any]:
        """``fake.host_attachment(...)`` on the loop thread."""
        return self.run(self.fake.host_attachment, filename, data, content_type)

    def slash(
        self,
        name: str,
        options: Mapping[str, Any] | Iterable[Any] | None = None,
        *,
        member: dict[str, Any] | None = None,
        subcommand: str | None = None,
        attachments: Mapping[str, dict[str, Any]] | None = None,
        wait_connected: bool = True,
        dm: bool = False,
        guild_id: int | None = None,
        timeout: float = 10.0,
    ) -> InteractionRecord:
        """Dispatch a slash command (in ``guild_id``, default the first guild); returns at once with the record."""
        return self.call(
            self.fake.slash(
                name,
                options,
                member=member,
                subcommand=subcommand,
                attachments=attachments,
                wait_connected=wait_connected,
                dm=dm,
                guild_id=guild_id,
            ),
            timeout,
        )

    def post_message(
        self,
        content: str = "",
        *,
        author: dict[str, Any] | None = None,
        channel_id: int | None = None,
        attachments: Iterable[dict[str, Any]] = (),
        embeds: Iterable[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """A member posts a message (``fake.post_message``); returns the stored message."""
        return self.run(
            self.fake.post_message,
            content,
            author=author,
            channel_id=channel_id,
            attachments=attachments,
            embeds=embeds,
        )

    def message_command(
        self,
        name: str,
        message: dict[str, Any] | int,
        *,
        member: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> InteractionRecord:
        """Run the message command ``name`` (Apps menu) on ``message``; returns at once with the record."""
        return self.call(self.fake.message_command(name, message, member=member), timeout)

    def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        member: dict[str, Any] | None = None,
        subcommand: str | None = None,
        timeout: float = 10.0,
    ) -> InteractionRecord:
        """Send an autocomplete request for option ``focused`` (its partial text is in ``options``)."""
        return self.call(self.fake.autocomplete(name, options, focused, member=member, subcommand=subcommand), timeout)

    def submit_modal(
        self,
        rec: InteractionRecord,
        values: Mapping[str, Any],
        *,
        member: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> InteractionRecord:
        """Fill in and submit the modal ``rec`` was answered with."""
        return self.call(self.fake.submit_modal(rec, values, member=member), timeout)

    def click(
        self,
        target: InteractionRecord | dict[str, Any] | int,
        custom_id: str,
        *,
        member: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> InteractionRecord:
        """Click a button on a message of ``target`` (a record, a message dict or a message id)."""
        return self.call(self.fake.click(target, custom_id, member=member), timeout)

    def select(
        self,
        target: InteractionRecord | dict[str, Any] | int,
        custom_id: str,
        values: list[str],
        *,
        member: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> InteractionRecord:
        """Pick ``values`` in a string select."""
        return self.call(self.fake.select(target, custom_id, values, member=member), timeout)

    def wait_final(self, rec: InteractionRecord, timeout: float = 5.0, *, settle: float = 0.1) -> dict[str, Any]:
        """Block until the interaction's final visible message state (see InteractionRecord.wait_final)."""
        return self.call(rec.wait_final(timeout, settle=settle), timeout + 5)

    def wait_for(
        self, rec: InteractionRecord, predicate: Callable[[InteractionRecord], Any], timeout: float = 5.0
    ) -> Any:
        """Block until ``predicate(rec)`` is truthy."""
        return self.call(rec.wait_for(predicate, timeout), timeout + 5)

    def drop_gateway(self, *, code: int = 4000, wait_resumed: bool = True, timeout: float = 10.0) -> None:
        """Drop the gateway socket; by default wait until discord.py has RESUMEd."""

        async def _drop() -> None:
            before = self.fake.resume_count
            await self.fake.drop_gateway(code)
            if wait_resumed:
                await self.fake.wait_resumed(before + 1, timeout)

        self.call(_drop(), timeout + 5)

    # ============================================================ measuring
    @staticmethod
    def now() -> float:
        """``time.monotonic()``: the clock of heartbeats, lag samples and records."""
        return time.monotonic()

    def max_loop_lag(self, since: float | None = None, until: float | None = None) -> float:
        """Largest event-loop oversleep among probe samples overlapping [since, until]."""
        since = float("-inf") if since is None else since
        until = float("inf") if until is None else until
        return max((lag for t0, t1, lag in list(self._lag_samples) if t1 >= since and t0 <= until), default=0.0)

    def max_heartbeat_gap(self, since: float | None = None, until: float | None = None) -> float:
        """Longest stretch without a heartbeat reaching the fake within [since, until]."""
        return self.fake.max_heartbeat_gap(since, until)

    @property
    def logged_errors(self) -> list[logging.LogRecord]:
        """ERROR log records from any logger while the harness ran (command exceptions, bot errors)."""
        return list(self._log_collector.records)

    def assert_clean(
        self,
        *,
        since: float | None = None,
        allow_events: Iterable[int] = (),
        allow_logged_errors: bool = False,
    ) -> None:
        """Fail on violations, unexpected Discord errors, logged exceptions or loop errors."""
        since = float("-inf") if since is None else since
        allowed = set(allow_events)
        lines = [str(v) for v in self.fake.violations if v.at >= since]
        lines += [f"[fake reply invalid] {v}" for v in self.fake.response_violations if v.at >= since]
        lines += [
            f"Discord error {e.code} {e.message!r} on {e.route}"
            for e in self.fake.events
            if e.at >= since and e.code not in allowed
        ]
        if not allow_logged_errors:
            lines += [f"logged: {r.getMessage()}" for r in self._log_collector.records if r.created >= _wall(since)]
        lines += [f"loop error: {c.get('message')}" for c in self.loop_errors]
        if lines:
            raise AssertionError("fake Discord found problems:\n  " + "\n  ".join(lines))


def _wall(monotonic_t: float) -> float:
    """Convert a monotonic time to wall-clock (LogRecord.created) for filtering."""
    if monotonic_t == float("-inf"):
        return monotonic_t
    return time.time() - (time.monotonic() - monotonic_t)
