"""Self-tests of the fake Discord: a minimal real discord.py bot driven end to end.

They prove the fake is realistic enough for discord.py (login, READY, sync, replies,
buttons, attachments, RESUME) and strict enough to catch bot bugs (Discord's limits,
the 3-second and respond-once rules, the no-ping rule, a blocked event loop).
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
import warnings
from collections.abc import Iterator

import aiohttp
import pytest

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop (deprecated since 3.11); an explicit -W error
    # outranks pyproject's ignore and would fail collection on that import alone.
    warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
    import discord
    from discord import app_commands

from fakediscord import (
    PERM_MANAGE_GUILD,
    DiscordHarness,
    InteractionRecord,
    load_spec,
    message_problems,
)

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()


class PingView(discord.ui.View):
    """One button that edits the message it sits on (UPDATE_MESSAGE, type 7)."""

    def __init__(self) -> None:
        """No timeout: the view must outlive slow test machines."""
        super().__init__(timeout=None)

    @discord.ui.button(label="Again", custom_id="ping:again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button[PingView]) -> None:
        """Replace the message content and drop the buttons."""
        await interaction.response.edit_message(content="pong again", embed=None, view=None)

    @discord.ui.button(label="Refresh", custom_id="ping:refresh", style=discord.ButtonStyle.secondary)
    async def refresh(self, interaction: discord.Interaction, button: discord.ui.Button[PingView]) -> None:
        """Deferred update (type 6), then edit @original, which is the clicked message."""
        await interaction.response.defer()
        await interaction.edit_original_response(content="refreshed")


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A one-field modal."""

    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(label="Your feedback", custom_id="fb:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Thank the user, quoting the submitted value."""
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class MiniBot(discord.Client):
    """The smallest bot that exercises every fake feature the self-tests need."""

    def __init__(self, *, sync_guild_id: int | None = None) -> None:
        """Slash commands only; everything is sent with AllowedMentions.none()."""
        # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE
        # before on_ready (default 2 s); the fake sends its only guild at once.
        super().__init__(intents=discord.Intents.default(), allowed_mentions=NO_PINGS, guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.sync_guild_id = sync_guild_id
        self._add_commands()

    async def setup_hook(self) -> None:
        """Sync like a real bot: to one guild when configured (instant), else globally."""
        if self.sync_guild_id is not None:
            guild = discord.Object(id=self.sync_guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    def _add_commands(self) -> None:
        """Register the test commands."""
        tree = self.tree

        @tree.command(name="ping", description="Defer, then follow up with an embed and a button")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            embed = discord.Embed(title="Pong", description="The fake answered.")
            embed.add_field(name="latency", value="fast")
            embed.set_footer(text="talksbot self-test")
            await interaction.followup.send(embed=embed, view=PingView())

        @tree.command(name="echo", description="Reply with the given text")
        @app_commands.describe(text="What to say", times="How many times", shout="Upper-case it")
        async def echo(interaction: discord.Interaction, text: str, times: int = 1, shout: bool = False) -> None:
            out = " ".join([text.upper() if shout else text] * times)
            await interaction.response.send_message(out, ephemeral=True)

        @tree.command(name="long", description="Reply with 2001 characters (over Discord's limit)")
        async def long(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("x" * 2001)

        @tree.command(name="bigembed", description="Reply with a 4097-character embed description")
        async def bigembed(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.followup.send(embed=discord.Embed(description="d" * 4097))

        @tree.command(name="pingeveryone", description="Reply allowing @everyone pings (breaks the rule)")
        async def pingeveryone(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("hi", allowed_mentions=discord.AllowedMentions(everyone=True))

        @tree.command(name="announce", description="Post to the channel without allowed_mentions")
        async def announce(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            # A raw request, as a careless bot might make: no allowed_mentions at all.
            route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=interaction.channel_id)
            try:
                await interaction.client.http.request(route, json={"content": "hello channel"})
            finally:
                await interaction.followup.send("posted")

        @tree.command(name="slow", description="Answer after 3.5 s (too late)")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(3.5)
            await interaction.response.send_message("finally")

        @tree.command(name="double", description="Send two initial responses concurrently")
        async def double(interaction: discord.Interaction) -> None:
            await asyncio.gather(
                interaction.response.send_message("one"),
                interaction.response.send_message("two"),
                return_exceptions=True,
            )

        @tree.command(name="block", description="Block the event loop for one second")
        async def block(interaction: discord.Interaction) -> None:
            time.sleep(1.0)  # the bug under test: blocking work on the event loop
            await interaction.response.send_message("unblocked")

        @tree.command(name="upload", description="Read an attachment and send it back")
        async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
            data = await file.read()
            await interaction.response.send_message(
                f"{file.filename}: {len(data)} bytes: {data.decode()[:40]}",
                file=discord.File(io.BytesIO(data[::-1]), filename="reversed.txt"),
            )

        @tree.command(name="admin", description="Only for Manage Server")
        @app_commands.checks.has_permissions(manage_guild=True)
        async def admin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("admin ok", ephemeral=True)

        @admin.error
        async def admin_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
            await interaction.response.send_message("You need Manage Server.", ephemeral=True)

        @tree.command(name="feedback", description="Open a modal")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @tree.command(name="multi", description="Reply, follow up, edit and delete")
        async def multi(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("first")
            second = await interaction.followup.send("second", wait=True)
            await second.edit(content="second, edited")
            original = await interaction.original_response()
            await interaction.followup.send(f"original said {original.content}")
            await interaction.delete_original_response()
            await second.delete()

        @tree.command(name="topic", description="Pick a topic (autocomplete)")
        async def topic(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"topic: {name}")

        @topic.autocomplete("name")
        async def topic_complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            topics = ["ceasefire", "prisoner exchange", "istanbul memorandum"]
            return [app_commands.Choice(name=t, value=t) for t in topics if current.lower() in t]

        group = app_commands.Group(name="quote", description="Quote tools")

        @group.command(name="count", description="Count words")
        async def count(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message(f"{len(text.split())} words")

        tree.add_command(group)


class _SharedHarness:
    """One fake + MiniBot shared by most tests; suspended while a test runs its own harness."""

    def __init__(self) -> None:
        """Nothing runs until a test asks for it."""
        self.harness: DiscordHarness | None = None

    def get(self) -> DiscordHarness:
        """The running shared harness (started on first use)."""
        if self.harness is None:
            self.harness = DiscordHarness(MiniBot).start()
        return self.harness

    def suspend(self) -> None:
        """Close it (only one harness can run at a time: Route.BASE is process-wide)."""
        h, self.harness = self.harness, None
        if h is not None:
            h.close()
            # The fake's own replies must match the spec too, over everything it served.
            assert h.fake.response_violations == [], [str(v) for v in h.fake.response_violations]


@pytest.fixture(scope="module")
def shared() -> Iterator[_SharedHarness]:
    """Module-wide holder of the shared harness."""
    holder = _SharedHarness()
    yield holder
    holder.suspend()


@pytest.fixture
def harness(shared: _SharedHarness) -> DiscordHarness:
    """The shared fake + bot (start-up is the expensive part)."""
    return shared.get()


@pytest.fixture
def exclusive(shared: _SharedHarness) -> None:
    """For tests that start their own harness."""
    shared.suspend()


# --------------------------------------------------------------------------- login, READY, sync
def test_login_ready_and_sync(harness: DiscordHarness) -> None:
    """discord.py logs in, gets READY + GUILD_CREATE, and syncs its commands once, globally."""
    fake = harness.fake
    assert harness.client.is_ready()
    assert harness.client.user is not None and harness.client.user.id == fake.bot_user_id
    guild = harness.client.get_guild(fake.guild_id)
    assert guild is not None and guild.get_channel(fake.channel_id) is not None
    assert fake.global_sync_count == 1 and fake.guild_sync_count == 0
    names = {c["name"] for c in fake.global_commands}
    assert {"ping", "echo", "upload", "admin", "quote"} <= names
    upload = next(c for c in fake.global_commands if c["name"] == "upload")
    assert upload["options"][0]["type"] == 11  # attachment
    assert fake.connections[0].how == "identify" and fake.connections[0].query["v"] == "10"
    ops = {r.operation_id for r in fake.requests}
    assert {"get_my_user", "get_my_oauth2_application", "bulk_set_application_commands"} <= ops
    harness.assert_clean()


@pytest.mark.usefixtures("exclusive")
def test_guild_sync_is_counted_and_used() -> None:
    """A guild sync is recorded separately and guild commands carry data.guild_id."""
    with DiscordHarness(lambda fake: MiniBot(sync_guild_id=fake.guild_id)) as h:
        assert h.fake.guild_sync_count == 1 and h.fake.global_sync_count == 0
        assert {c["guild_id"] for c in h.fake.guild_commands[h.fake.guild_id]} == {str(h.fake.guild_id)}
        rec = h.slash("echo", {"text": "guild"})
        assert rec.payload["data"]["guild_id"] == str(h.fake.guild_id)
        assert h.wait_final(rec)["content"] == "guild"
        h.assert_clean()


@pytest.mark.usefixtures("exclusive")
def test_wrong_token_raises_login_failure() -> None:
    """A token the fake does not know gets 401 at GET /users/@me -> discord.LoginFailure."""
    h = DiscordHarness(MiniBot, client_token="not-the-token", ready_timeout=5)
    with pytest.raises(discord.LoginFailure):
        h.start()
    assert h.fake.identify_count == 0
    h.close()


# --------------------------------------------------------------------------- replies
def test_good_reply_validates_clean(harness: DiscordHarness) -> None:
    """Options are typed from the synced definition; an ephemeral reply passes every check."""
    t0 = harness.now()
    rec = harness.slash("echo", {"text": "merhaba", "times": 2, "shout": True})
    final = harness.wait_final(rec)
    assert final["content"] == "MERHABA MERHABA"
    assert final["ephemeral"] is True
    assert rec.callbacks[0].type == 4 and rec.ack_latency is not None and rec.ack_latency < 3.0
    sent = rec.payload["data"]["options"]
    assert [(o["name"], o["type"]) for o in sent] == [("text", 3), ("times", 4), ("shout", 5)]
    assert rec.violations == [] and rec.errors == []
    harness.assert_clean(since=t0)


def test_defer_followup_embed_and_button_click(harness: DiscordHarness) -> None:
    """Type-5 defer, followup becomes @original with embed + button; clicking it updates the message."""
    t0 = harness.now()
    rec = harness.slash("ping")
    final = harness.wait_final(rec)
    assert rec.callbacks[0].type == 5
    assert final["id"] == rec.original_message_id and not final["loading"]
    assert final["embeds"][0]["title"] == "Pong"
    button = final["components"][0]["components"][0]
    assert button["custom_id"] == "ping:again" and button["label"] == "Again"

    click = harness.click(rec, "ping:again")
    after = harness.wait_final(click)
    assert click.callbacks[0].type == 7
    assert click.payload["data"]["component_type"] == 2
    assert after["id"] == final["id"]
    assert after["content"] == "pong again" and after["embeds"] == [] and after["components"] == []
    harness.assert_clean(since=t0)


def test_deferred_update_then_edit_original(harness: DiscordHarness) -> None:
    """A button answered with type 6 then PATCH @original edits the clicked message."""
    t0 = harness.now()
    rec = harness.slash("ping")
    message = harness.wait_final(rec)
    click = harness.click(message, "ping:refresh")
    after = harness.wait_final(click)
    assert click.callbacks[0].type == 6
    assert click.edits[0].target == "@original" and click.edits[0].message_id == message["id"]
    assert after["id"] == message["id"] and after["content"] == "refreshed"
    assert after["embeds"][0]["title"] == "Pong"  # untouched fields stay
    harness.assert_clean(since=t0)


def test_modal_round_trip(harness: DiscordHarness) -> None:
    """A modal (type 9) is recorded; submitting it reaches the bot's on_submit."""
    t0 = harness.now()
    rec = harness.slash("feedback")
    modal = harness.wait_final(rec)["modal"]
    assert modal["title"] == "Feedback"
    sub = harness.submit_modal(rec, {"fb:text": "useful"})
    assert harness.wait_final(sub)["content"] == "thanks: useful"
    harness.assert_clean(since=t0)


def test_followups_edit_get_delete(harness: DiscordHarness) -> None:
    """Followups with wait=1, PATCH by id, GET @original and DELETE @original all work."""
    t0 = harness.now()
    rec = harness.slash("multi")
    harness.wait_for(rec, lambda r: len(r.deletes) == 2)
    contents = [m["content"] for m in rec.messages]
    assert contents == ["first", "second, edited", "original said first"]
    assert rec.deletes == [rec.original_message_id, int(rec.messages[1]["id"])]
    assert [e.target for e in rec.edits] == [str(rec.messages[1]["id"])]
    harness.assert_clean(since=t0)


def test_autocomplete(harness: DiscordHarness) -> None:
    """An autocomplete interaction (type 4) gets choices back (callback type 8)."""
    rec = harness.autocomplete("topic", {"name": "is"}, focused="name")
    choices = harness.wait_final(rec)["choices"]
    assert [c["value"] for c in choices] == ["prisoner exchange", "istanbul memorandum"]
    assert rec.callbacks[0].type == 8


def test_subcommand_options(harness: DiscordHarness) -> None:
    """Subcommands are wrapped as Discord sends them (type 1 option holding the real options)."""
    rec = harness.slash("quote", {"text": "one two three"}, subcommand="count")
    assert harness.wait_final(rec)["content"] == "3 words"
    assert rec.payload["data"]["options"][0]["type"] == 1


def test_unknown_option_is_a_test_error(harness: DiscordHarness) -> None:
    """The driver refuses what Discord's client could never send."""
    with pytest.raises(ValueError, match="unknown option"):
        harness.slash("echo", {"txt": "typo"})
    with pytest.raises(ValueError, match="missing required"):
        harness.slash("echo", {})
    with pytest.raises(ValueError, match="INTEGER"):
        harness.slash("echo", {"text": "a", "times": "2"})


def test_permissions_drive_checks(harness: DiscordHarness) -> None:
    """member.permissions reaches interaction.permissions (has_permissions)."""
    plain = harness.member(name="bob", permissions="0")
    mod = harness.member(name="carol", permissions=str(PERM_MANAGE_GUILD))
    denied = harness.wait_final(harness.slash("admin", member=plain))
    allowed = harness.wait_final(harness.slash("admin", member=mod))
    assert denied["content"] == "You need Manage Server."
    assert allowed["content"] == "admin ok"


# --------------------------------------------------------------------------- violations
@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("long", "data.content: length 2001"),
        ("bigembed", "embeds[0].description: length 4097"),
        ("pingeveryone", "allowed_mentions.parse: must be []"),
        ("announce", "allowed_mentions: missing"),
    ],
)
def test_bad_bodies_are_violations(harness: DiscordHarness, command: str, reason: str) -> None:
    """Over-limit content/embeds and ping-capable messages are recorded and answered with 50035."""
    t0 = harness.now()
    rec = harness.slash(command)
    harness.wait_for(rec, lambda r: any(v.at >= t0 and reason in str(v) for v in harness.fake.violations))
    new = [v for v in harness.fake.violations if v.at >= t0]
    assert any(reason in str(v) for v in new), [str(v) for v in new]
    assert 50035 in [e.code for e in harness.fake.events if e.at >= t0]


def test_validator_is_not_vacuous() -> None:
    """The OpenAPI validation itself rejects bad bodies and accepts good ones."""
    spec = load_spec()
    op, _ = spec.match("POST", "/interactions/1/tok/callback")
    assert op is not None
    good = {"type": 4, "data": {"content": "ok", "allowed_mentions": {"parse": []}}}
    assert spec.validate_request(op, good) == []
    assert spec.validate_request(op, {"type": 4, "data": {"content": "x" * 2001}})
    assert spec.validate_request(op, {"type": 4, "data": {"embeds": [{"description": "d" * 4097}]}})
    assert spec.validate_request(op, {"type": 3})
    assert spec.validate_request(op, {"type": 4, "data": {"content": 5}})
    hook, _ = spec.match("POST", "/webhooks/1/tok")
    assert hook is not None and spec.validate_request(hook, {"content": "y" * 2001})
    cmds, _ = spec.match("PUT", "/applications/1/commands")
    assert cmds is not None and spec.validate_request(cmds, [{"description": "no name"}])
    assert spec.match("PUT", "/gateway")[0] is None and spec.match("GET", "/nope")[0] is None
    msg, _ = spec.match("GET", "/webhooks/1/tok/messages/@original")
    assert msg is not None and spec.validate_response(msg, 200, {"id": "1", "content": "no other fields"})
    assert message_problems({"content": "hi", "allowed_mentions": {"parse": []}}, creating=True) == []
    assert message_problems({"content": "hi"}, creating=True)
    assert message_problems({"content": "hi", "allowed_mentions": {"parse": [], "users": ["1"]}}, creating=True)
    many = [{"title": "t" * 256, "description": "d" * 4096}, {"description": "e" * 1700}]
    assert any(
        "total embed text" in p
        for p in message_problems({"embeds": many, "allowed_mentions": {"parse": []}}, creating=True)
    )
    row = {
        "type": 1,
        "components": [{"type": 2, "style": 1, "custom_id": f"b{i}", "label": "x"} for i in range(6)],
    }
    assert any(
        "buttons in one row" in p
        for p in message_problems({"components": [row], "allowed_mentions": {"parse": []}}, creating=True)
    )


# --------------------------------------------------------------------------- Discord's rules
def test_late_first_response_gets_10062(harness: DiscordHarness) -> None:
    """A first response after 3 s is 'Unknown interaction'."""
    rec = harness.slash("slow")
    harness.wait_for(rec, lambda r: 10062 in r.error_codes, timeout=8)
    assert rec.callbacks[0].latency > 3.0 and rec.callbacks[0].status == 404
    assert not rec.acknowledged


def test_double_ack_gets_40060(harness: DiscordHarness) -> None:
    """A second initial response is 'already acknowledged'."""
    rec = harness.slash("double")
    harness.wait_for(rec, lambda r: 40060 in r.error_codes)
    assert [c.status for c in rec.callbacks] == [200, 400]
    assert harness.wait_final(rec)["content"] == "one"


# --------------------------------------------------------------------------- event loop health
def test_blocked_loop_shows_as_heartbeat_gap_and_lag(harness: DiscordHarness) -> None:
    """time.sleep on the loop delays heartbeats and the lag probe; a normal command does not."""
    t0 = harness.now()
    harness.wait_final(harness.slash("echo", {"text": "quick"}))
    t1 = harness.now()
    assert harness.max_loop_lag(t0, t1) < 0.5
    assert harness.max_heartbeat_gap(t0, t1) < 0.5

    t2 = harness.now()
    rec = harness.slash("block")
    assert harness.wait_final(rec)["content"] == "unblocked"
    # One more heartbeat after the block, so the gap is closed inside the window.
    harness.call(harness.fake.wait_until(lambda: any(t > rec.acknowledged_at for t in harness.fake.heartbeats)))
    t3 = harness.now()
    assert harness.max_loop_lag(t2, t3) > 0.5
    assert harness.max_heartbeat_gap(t2, t3) > 0.5


# --------------------------------------------------------------------------- gateway resilience
def test_drop_gateway_resumes_and_replays(harness: DiscordHarness) -> None:
    """A dropped socket makes discord.py RESUME at resume_gateway_url; events sent meanwhile are replayed."""
    fake = harness.fake
    identifies = fake.identify_count
    harness.drop_gateway()
    assert fake.connections[-1].how == "resume" and fake.connections[-1].path == "/resume-gateway"
    assert fake.identify_count == identifies
    assert harness.wait_final(harness.slash("echo", {"text": "still here"}))["content"] == "still here"

    async def drop_then_dispatch() -> InteractionRecord:
        await fake.drop_gateway()
        # Sent while no socket is open: it must be replayed on RESUME.
        return await fake.slash("echo", {"text": "replayed"}, wait_connected=False)

    rec = harness.call(drop_then_dispatch())
    assert harness.wait_final(rec, timeout=8)["content"] == "replayed"
    assert fake.resume_count >= 2


# --------------------------------------------------------------------------- unknown routes
def test_unknown_and_unimplemented_routes_are_violations(harness: DiscordHarness) -> None:
    """A route missing from the spec, or one the fake does not serve, is recorded and answered 404."""
    t0 = harness.now()
    http = harness.client.http
    for path in ("/definitely/not/discord", "/users/@me/connections"):
        with pytest.raises(discord.NotFound):
            harness.call(http.request(discord.http.Route("GET", path)))
    reasons = [r for v in harness.fake.violations if v.at >= t0 for r in v.reasons]
    assert any("unknown route GET /definitely/not/discord" in r for r in reasons)
    assert any("does not implement list_my_connections" in r for r in reasons)


def test_gateway_rejects_a_bad_identify(harness: DiscordHarness) -> None:
    """IDENTIFY with a wrong token is closed with 4004, and the bot's session is untouched."""
    fake = harness.fake

    async def bad_identify() -> tuple[dict, int | None]:
        async with aiohttp.ClientSession() as session, session.ws_connect(fake.gateway_url + "?v=10") as ws:
            hello = await ws.receive_json()
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}})
            msg = await ws.receive()
            return hello, msg.data if msg.type is aiohttp.WSMsgType.CLOSE else None

    session_before = fake.session
    hello, close_code = harness.call(bad_identify())
    assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 250
    assert close_code == 4004
    assert fake.session is session_before
    assert harness.wait_final(harness.slash("echo", {"text": "unaffected"}))["content"] == "unaffected"


# --------------------------------------------------------------------------- attachments
def test_attachment_download_and_upload(harness: DiscordHarness) -> None:
    """An attachment option resolves to a hosted file the bot downloads; its upload is validated multipart."""
    t0 = harness.now()
    att = harness.host_attachment("notes.txt", b"Istanbul talks, round two")
    rec = harness.slash("upload", {"file": att})
    final = harness.wait_final(rec)
    assert final["content"] == "notes.txt: 25 bytes: Istanbul talks, round two"
    assert rec.payload["data"]["resolved"]["attachments"][att["id"]]["filename"] == "notes.txt"
    uploaded = final["attachments"][0]
    assert uploaded["filename"] == "reversed.txt"
    file_id = int(uploaded["id"])
    assert harness.fake._files[file_id][1] == b"Istanbul talks, round two"[::-1]
    harness.assert_clean(since=t0)
