"""An exclusive lock between processes: an ``flock`` on a file, released when its holder closes it or dies.

Used for the index's single writer (store/generations.py) and for the feeds' poll and save locks
(web/feedstate.py). ``flock`` locks belong to an open file description, so two opens in one process
exclude each other too, and the system drops the lock of a process that is killed: a crash never
leaves a lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["holding", "open_lock_file"]


def open_lock_file(path: Path) -> int:
    """Open (creating it if needed) the file a lock is taken on; OSError when its folder cannot be written."""
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def holding(
    fd: int, *, wait: bool, busy: Callable[[], Exception], on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the lock on ``fd`` (then close it); ``busy()`` is raised at once when it is taken and ``wait`` is
    False, and ``on_wait`` is called once before waiting otherwise."""
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise busy() from None
            if on_wait:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock, as does the process dying
