"""Reading the files named on the command line, bounded, with one-line errors."""

from __future__ import annotations

from sigpolicy.errors import InputError


def read_file(path: str, *, what: str, limit: int, refuse_larger: bool = True) -> bytes:
    """Read at most ``limit`` bytes of ``path``; a larger file is refused, never truncated.

    With ``refuse_larger=False`` the first ``limit + 1`` bytes are returned, for callers whose
    parser turns an oversized input into a verdict rather than an invocation error.
    """
    # Plain open(), not pathlib: importing pathlib costs the one-shot ``sigpolicy verify``
    # milliseconds of start-up.
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read: {exc.strerror}") from None
    if len(data) > limit and refuse_larger:
        raise InputError(f"{what} {path}: larger than {limit} bytes")
    return data
