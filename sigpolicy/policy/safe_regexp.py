"""Policy-given patterns (``issuerRegExp``, ``subjectRegExp``), matched in bounded time.

Patterns are compiled with RE2 (the ``google-re2`` package), whose matching is linear in
the input whatever the pattern, so a certificate cannot make a decision slow: there are no
backreferences or lookaround (RE2 refuses them, and the pattern with them), and memory is
capped per pattern (:data:`MAX_MEMORY`). A pattern matches the *whole* value (it is
anchored, as policy-controller and Kyverno anchor theirs), and is at most
:data:`MAX_PATTERN` characters.
"""

from __future__ import annotations

from typing import Final

import re2

from sigpolicy.errors import PolicyError
from sigpolicy.signature.fulcio import TextPattern

MAX_PATTERN: Final = 1024
#: RE2's default is 8 MiB per pattern; a policy pattern needs far less.
MAX_MEMORY: Final = 1 << 20


def compile_anchored(pattern: str) -> TextPattern:
    """The compiled pattern; PolicyError (one line) when RE2 refuses it."""
    if len(pattern) > MAX_PATTERN:
        raise PolicyError(f"the pattern is longer than {MAX_PATTERN} characters")
    options = re2.Options()
    options.log_errors = False  # the error is raised, not printed to stderr
    options.max_mem = MAX_MEMORY
    try:
        compiled: TextPattern = re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PolicyError(f"not an RE2 pattern: {detail}") from None
    return compiled
