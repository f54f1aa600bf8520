"""Reading a small file that someone else controls: bounded, and never hanging on a FIFO.

Shared by the ``dir:`` layout, bundle files beside it and ``file://`` lookaside stores. Each
caller turns :class:`FileProblem` into its own error class and message prefix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["FileProblem", "read_bounded"]


class FileProblem(Exception):  # noqa: N818 - a problem of a file, not a failure of ours
    """Why a file that exists could not be used, in words that follow its path."""


def read_bounded(path: Path | str, limit: int, *, what: str = "") -> bytes | None:
    """The bytes of ``path``; None when it does not exist; FileProblem when it cannot be
    opened or read, is not a regular file, or holds more than ``limit`` bytes (``what``
    names the limit in that message, e.g. ``"signature "``)."""
    try:
        # O_NONBLOCK: opening a FIFO put in a file's place must not hang the reader.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileProblem(f"cannot open ({_why(exc)})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileProblem("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise FileProblem(f"cannot read ({_why(exc)})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileProblem(f"over the {limit}-byte {what}limit")
    return data


def _why(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__
