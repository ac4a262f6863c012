"""Slash command extensions: each module ends in ``async def setup(bot)`` and can fail alone."""
