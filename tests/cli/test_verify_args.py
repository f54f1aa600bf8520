"""``sigpolicy verify`` reads its usual arguments without argparse, and reads them as argparse does.

argparse stays the reference (help, errors, every unusual spelling); the usual spelling is read
without importing it, for start-up time. Whatever the arguments, the outcome is argparse's.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigpolicy.cli import verify_cmd

USUAL: dict[str, list[str]] = {
    "minimal": ["a.sig", "--keyring", "k", "--digest", "d", "--identity", "r"],
    "signatures-last": ["--keyring", "k", "--manifest", "m", "--identity", "r", "a", "b"],
    "signatures-between": ["--keyring", "k", "a", "b", "--digest", "d", "--identity", "r"],
    "every-option": [
        "a",
        "--keyring",
        "k1",
        "--keyring",
        "k2",
        "--manifest",
        "m",
        "--identity",
        "r",
        "--backend",
        "gnupg",
        "--output",
        "json",
    ],
    "empty-and-odd-values": ["", "--keyring", "a b", "--digest", "", "--identity", "x=y"],
}


def argparse_outcome(argv: Sequence[str]) -> dict[str, object] | int:
    """argparse's namespace, or the exit status it stops with."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return vars(verify_cmd.build_parser().parse_args(argv))
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 2


def our_outcome(argv: Sequence[str]) -> dict[str, object] | int:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return vars(verify_cmd.parse_args(argv))
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 2


@pytest.mark.parametrize("argv", USUAL.values(), ids=USUAL.keys())
def test_usual_arguments_do_not_need_argparse(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = argparse_outcome(argv)
    assert isinstance(expected, dict)

    def no_argparse() -> None:
        raise AssertionError("argparse was needed")

    monkeypatch.setattr(verify_cmd, "build_parser", no_argparse)
    assert vars(verify_cmd.parse_args(argv)) == expected


UNUSUAL: dict[str, list[str]] = {
    "help": ["-h"],
    "equals-sign": ["a", "--keyring=k", "--digest", "d", "--identity", "r"],
    "abbreviation": ["a", "--key", "k", "--digest", "d", "--identity", "r"],
    "two-runs-of-signatures": ["a", "--keyring", "k", "b", "--digest", "d", "--identity", "r"],
    "manifest-and-digest": ["a", "--keyring", "k", "--manifest", "m", "--digest", "d"],
    "repeated-identity": [
        "a", "--keyring", "k", "--digest", "d", "--identity", "r", "--identity", "s",
    ],
    "bad-backend-then-good": [
        "a", "--keyring", "k", "--digest", "d", "--identity", "r", "--backend", "x",
        "--backend", "native",
    ],
    "negative-number-value": ["a", "--keyring", "k", "--digest", "-1", "--identity", "r"],
    "double-dash": ["--keyring", "k", "--digest", "d", "--identity", "r", "--", "-a"],
    "lone-dash-signature": ["-", "--keyring", "k", "--digest", "d", "--identity", "r"],
    "missing-value": ["a", "--keyring", "k", "--digest", "d", "--identity"],
    "nothing": [],
}  # fmt: skip


@pytest.mark.parametrize("argv", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_unusual_arguments_get_argparse_outcome(argv: list[str]) -> None:
    assert our_outcome(argv) == argparse_outcome(argv)


OPTIONS = ["--keyring", "--manifest", "--digest", "--identity", "--backend", "--output"]
VALUES = ["k", "a b", "", "-1", "native", "gnupg", "json", "text", "x", "--keyring"]
ODD_TOKENS = ["-", "--", "-h", "--key", "--output=json", "a.sig"]


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    """Mostly well-formed invocations, with extra options and sometimes an odd token."""
    image = draw(st.sampled_from([("--manifest", "m"), ("--digest", "d")]))
    extra = st.tuples(st.sampled_from(OPTIONS), st.sampled_from(VALUES))
    pairs = [("--keyring", "k"), ("--identity", "r"), image, *draw(st.lists(extra, max_size=3))]
    pairs = draw(st.permutations(pairs))
    options = [token for pair in pairs for token in pair]
    signatures = draw(st.lists(st.sampled_from(["a.sig", "b.sig", ""]), max_size=3))
    cut = 2 * draw(st.integers(0, len(pairs)))
    argv = options[:cut] + signatures + options[cut:]
    if draw(st.booleans()):
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(ODD_TOKENS)))
    return argv


@settings(max_examples=500, deadline=None)
@given(invocations())
def test_any_arguments_get_argparse_outcome(argv: list[str]) -> None:
    assert our_outcome(argv) == argparse_outcome(argv)
