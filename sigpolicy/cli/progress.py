"""Progress of a long command on standard error: a bar on a terminal, a line every so often
otherwise (logs of a CI job), nothing when asked to be quiet. Never on standard output."""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    def __init__(
        self, *, quiet: bool, every: int = 1000, stream: TextIO | None = None, label: str = ""
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.every = max(1, every)
        self.label = label
        self.tty = self.stream.isatty()
        self._next = self.every
        self._drawn = False

    def note(self, text: str) -> None:
        if self.quiet:
            return
        self._end_bar()
        self.stream.write(f"{self.label}{text}\n")
        self.stream.flush()

    def step(self, done: int, total: int, what: str) -> None:
        if self.quiet or total <= 0:
            return
        if self.tty:
            filled = BAR_WIDTH * done // total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label}[{bar}] {done}/{total} {what}")
            self.stream.flush()
            self._drawn = True
            if done >= total:
                self._end_bar()
            return
        if done >= self._next or done >= total:
            self.stream.write(f"{self.label}{done}/{total} {what}\n")
            self.stream.flush()
            while self._next <= done:
                self._next += self.every

    def _end_bar(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
