"""One error handler for every slash command and button.

Known errors become a sentence for the user (always ephemeral); anything unexpected becomes a
generic apology for the user and a logged traceback for the maintainer. No traceback, token or
internal detail ever reaches Discord.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from index import TalksbotError

from .render_answers import render_cooldown_embed
from .render_discord import render_error_embed

__all__ = ["APOLOGY", "NotAllowed", "install_error_handler", "reply_error", "user_message"]

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again later."


class NotAllowed(app_commands.CheckFailure):
    """The member may not use this command; the message says who may."""


def user_message(error: BaseException) -> str | None:
    """The sentence to show for a known error, or None for an unexpected one."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        inner = error.__cause__ or getattr(error, "original", None)
        if isinstance(error, app_commands.TransformerError):
            return f"That value is not valid for this option: {error.value!r}."[:300]
        error = inner if inner is not None else error
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"You're asking quickly — please wait {error.retry_after:.0f} s before asking again."
    if isinstance(error, app_commands.MissingPermissions):
        return "This command is for members who can manage the server."
    if isinstance(error, NotAllowed | TalksbotError):
        return str(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in a server channel, not in direct messages."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


async def reply_error(interaction: discord.Interaction, message: str) -> None:
    """Tell the user: privately when possible, else in place of the deferred reply."""
    await _tell(interaction, render_error_embed(message))


async def _tell(interaction: discord.Interaction, embed: discord.Embed) -> None:
    """Deliver a private notice or error: a reply when none was sent yet, else in place of the deferred one."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(embed=embed, ephemeral=True)
            return
        if interaction.type is discord.InteractionType.application_command:
            # Discord fixes a deferred reply's visibility at defer time, and a followup after deleting
            # the "thinking…" placeholder is not reliable: the placeholder itself becomes the apology.
            # Commands validate their input before deferring, so only rare failures end up here.
            await interaction.edit_original_response(content=None, embed=embed, view=None)
            return
        await interaction.followup.send(embed=embed, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error message for interaction %s", interaction.id)


def install_error_handler(tree: app_commands.CommandTree) -> None:
    """Route every app command error through one handler."""

    @tree.error
    async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.CommandOnCooldown):
            # Not an error: a notice in the neutral colour, with Discord's live "in 8 seconds".
            await _tell(interaction, render_cooldown_embed(error.retry_after))
            return
        message = user_message(error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("unexpected error in /%s", command, exc_info=error)
            message = APOLOGY
        await reply_error(interaction, message)
