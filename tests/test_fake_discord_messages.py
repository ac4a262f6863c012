"""Self-tests of the fake Discord's message commands, members' messages and bot restarts.

A minimal real discord.py bot (no intents beyond guilds, like talksbot) proves that a message
command carries the message's content in ``resolved.messages``, that the fake holds members'
messages the way Discord stores them, and that a button registered as a dynamic item still
works on a message sent by the previous bot process after ``restart_client``.
"""

from __future__ import annotations

import re
import warnings

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
    import discord
    from discord import app_commands

from fakediscord import DiscordHarness, load_spec
from fakediscord.server import _command_list_problems

NO_PINGS = discord.AllowedMentions.none()


class CountButton(discord.ui.DynamicItem[discord.ui.Button], template=r"count:(?P<n>\d+)"):
    """A persistent button: its state lives in its custom_id, so any bot process can handle it."""

    def __init__(self, n: int) -> None:
        """A button labelled with ``n``."""
        super().__init__(discord.ui.Button(label=f"count {n}", custom_id=f"count:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]) -> CountButton:
        """Rebuild the button from a click."""
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Say which process answered."""
        await interaction.response.send_message(f"n={self.n} by {interaction.client.generation}", ephemeral=True)


class MenuBot(discord.Client):
    """A message command that echoes what it read, and a persistent button."""

    def __init__(self, guild_id: int, generation: int) -> None:
        """Only the guilds intent: no message content is ever read from the gateway."""
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, allowed_mentions=NO_PINGS, guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.guild_id = guild_id
        self.generation = generation
        self.seen: list[discord.Message] = []

        @self.tree.context_menu(name="Read it")
        async def read_it(interaction: discord.Interaction, message: discord.Message) -> None:
            self.seen.append(message)
            view = discord.ui.View(timeout=None)
            view.add_item(CountButton(len(message.content)))
            await interaction.response.send_message(f"read {len(message.content)} characters", view=view)

    async def setup_hook(self) -> None:
        """Register the dynamic button and sync the menu to the test guild."""
        self.add_dynamic_items(CountButton)
        guild = discord.Object(id=self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)


@pytest.fixture
def harness():
    """A MenuBot on a fake Discord; each restart builds the next generation of the bot."""
    generations = iter(range(1, 100))
    with DiscordHarness(lambda fake: MenuBot(fake.guild_id, next(generations))) as h:
        yield h


def test_a_message_command_carries_the_message_and_the_bot_reads_it_without_intents(harness):
    """Apps -> Read it: type 2 with data.type 3, target_id and resolved.messages; the bot sees the content."""
    bob = harness.member(name="bob")
    posted = harness.post_message(f"Hello <@{bob['user']['id']}> and @everyone, a claim", author=bob)
    rec = harness.message_command("Read it", posted)
    final = harness.wait_final(rec)
    data = rec.payload["data"]
    assert rec.payload["type"] == 2 and data["type"] == 3 and data["target_id"] == posted["id"]
    assert data["resolved"]["messages"][posted["id"]]["content"] == posted["content"]
    message = harness.client.seen[-1]
    assert message.content == posted["content"] and message.author.id == int(bob["user"]["id"])
    assert final["content"] == f"read {len(posted['content'])} characters" and not final["ephemeral"]
    reply = harness.fake.messages[final["id"]]
    assert reply["type"] == 23 and reply["interaction_metadata"]["target_message_id"] == posted["id"]
    harness.assert_clean()


def test_a_members_message_is_stored_as_discord_stores_it(harness):
    """Mentions, role mentions and @everyone are worked out from the content; the payload matches the spec."""
    bob = harness.member(name="bob")
    role = harness.fake.role("Moderator")["id"]
    posted = harness.post_message(f"<@{bob['user']['id']}> <@!{bob['user']['id']}> <@&{role}> @here <@1>")
    assert [u["id"] for u in posted["mentions"]] == [bob["user"]["id"]]  # an unknown id is no mention
    assert posted["mention_roles"] == [role] and posted["mention_everyone"]
    assert posted["author"]["id"] == harness.fake.default_member["user"]["id"]
    assert load_spec().validate_component("MessageResponse", posted) == []
    harness.assert_clean()


def test_an_attachment_only_message_has_empty_content(harness):
    """A message with only a file: the bot reads empty content and the attachment."""
    att = harness.run(harness.fake.host_attachment, "photo.png", b"\x89PNG", "image/png", ephemeral=False)
    posted = harness.post_message(attachments=[att])
    harness.wait_final(harness.message_command("Read it", posted))
    message = harness.client.seen[-1]
    assert message.content == "" and [a.filename for a in message.attachments] == ["photo.png"]
    harness.assert_clean()


def test_message_command_definitions_follow_discords_rules(harness):
    """The menu synced clean; a description, options or a padded name on a message command are violations."""
    synced = [c for c in harness.fake.guild_commands[harness.fake.guild_id] if c["type"] == 3]
    assert [c["name"] for c in synced] == ["Read it"]
    problems = _command_list_problems(
        [{"name": " Padded", "type": 3, "description": "not allowed", "options": [{"name": "x", "type": 3}]}]
    )
    assert len(problems) == 3
    with pytest.raises(ValueError, match="no synced command"):
        harness.message_command("Not a command", harness.post_message("hi"))


def test_a_dynamic_button_works_after_the_bot_restarts(harness):
    """A button sent by the first bot is handled by the second one after restart_client; messages survive."""
    rec = harness.message_command("Read it", harness.post_message("twelve chars"))
    harness.wait_final(rec)
    before = harness.wait_final(harness.click(rec, "count:12"))
    assert before["content"] == "n=12 by 1"
    harness.restart_client()
    assert harness.client.generation == 2 and harness.fake.identify_count == 2
    after = harness.wait_final(harness.click(rec, "count:12"))
    assert after["content"] == "n=12 by 2" and after["ephemeral"]
    harness.assert_clean()
