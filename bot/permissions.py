"""Who may change what the bot knows: the policy behind /reindex and /add-article.

A member may when they can manage the server (or administer it), or when they hold one of the
roles listed in ``ADMIN_ROLE_IDS``. Everyone may ask. Direct messages have no server to manage,
so nobody may change the index from one. The Discord side reads these facts off an interaction;
the rule itself needs no Discord object and is tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["may_change_index"]


def may_change_index(
    *,
    in_server: bool,
    manage_server: bool,
    administrator: bool,
    role_ids: Iterable[int],
    admin_role_ids: frozenset[int],
) -> bool:
    """True when this member may reindex and add articles."""
    if not in_server:
        return False
    if manage_server or administrator:
        return True
    return any(role in admin_role_ids for role in role_ids)
