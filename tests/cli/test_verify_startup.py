"""A one-shot ``sigpolicy verify`` loads what verifying needs and nothing more.

It must start no slower than one ``skopeo standalone-verify`` (ARCHITECTURE.md, budgets), and
most of its time is start-up. These tests pin down what was taken off the verify path, so that
a convenient import does not slowly bring it back. They are checks on imports, not timings.

Each case runs in a fresh interpreter without ``site`` (``-S``, with ``sys.path`` handed over):
the editable install's import hook would otherwise load pathlib and re at start-up, hiding
what sigpolicy itself imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "sigpolicy" / "examples" / "signatures"

# Modules (and their packages) that the verify path must not import, with why they are kept off.
NOT_LOADED = {
    "dataclasses": "importing it (with inspect and ast) and generating each class's code",
    "inspect": "comes with dataclasses",
    "pathlib": "plain open() reads the files",
    "argparse": "the usual invocation is parsed without it; argparse handles the rest",
    "shutil": "comes with argparse (with bz2 and lzma)",
    "gettext": "comes with argparse",
    "bz2": "imported only when a BZip2 packet appears",
    "lzma": "comes with shutil",
    "logging": "imported only when an armor CRC warning is logged",
    "datetime": "time.gmtime formats the timestamps",
    "hashlib": "`cryptography` hashes; hashlib would load a second OpenSSL",
    "hmac": "comes with hashlib",
    "base64": "binascii decodes the armor",
    "gnupg": "the GnuPG backend is imported only when chosen",
    "yaml": "the verify path reads no YAML",
    "pydantic": "the verify path uses no API models",
    "sigpolicy.api": "the verify path uses no API models",
    "sigpolicy.trust": "the trust store is for verify-image and the webhook",
    "sigpolicy.reference.identity": "identity rules are for policies",
}

VERIFY = [
    "verify",
    str(EXAMPLES / "release-key.sig"),
    "--keyring",
    str(EXAMPLES / "trusted-keys.asc"),
    "--identity",
    "registry.example.com/shop/checkout:1.4.2",
]

PROBE = """
import json, sys
sys.path[:0] = {path!r}
generated = []

def audit(event, args):
    # compile() of a string: what dataclasses and NamedTuple do for every class they make.
    if event == "compile" and args[1] in ("<string>", None):
        generated.append(repr(args[0])[:60])

sys.addaudithook(audit)
import sigpolicy.cli.verify_cmd
from sigpolicy.cli.main import main
status = main({argv!r})
print(json.dumps({{"status": status, "modules": sorted(sys.modules), "generated": generated}}))
"""


def run_probe(argv: list[str]) -> tuple[int, set[str], list[str]]:
    code = PROBE.format(path=[p for p in sys.path if p], argv=argv)
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    return report["status"], set(report["modules"]), report["generated"]


CASES = {
    "text-with-manifest": [*VERIFY, "--manifest", str(EXAMPLES / "manifest.json")],
    "json-with-digest": [
        *VERIFY,
        "--digest",
        "sha256:b3c238eeade5bf4be20e767324c89d5a1e6a6bb1a2eb0512bf8c977e91fc4bd7",
        "--output",
        "json",
    ],
}


@pytest.mark.parametrize("argv", CASES.values(), ids=CASES.keys())
def test_verify_path_imports_only_what_it_needs(argv: list[str]) -> None:
    status, modules, generated = run_probe(argv)
    assert status == 0
    loaded = {
        name: why
        for name, why in NOT_LOADED.items()
        if any(module == name or module.startswith(name + ".") for module in modules)
    }
    assert loaded == {}
    assert generated == [], "code generated at start-up (a dataclass or NamedTuple?)"


def test_probe_sees_what_argparse_would_load() -> None:
    # The check above means something only if a mistake is visible: an invocation the fast
    # path hands to argparse does load argparse.
    status, modules, _ = run_probe([*VERIFY, "--manifest=" + str(EXAMPLES / "manifest.json")])
    assert status == 0
    assert "argparse" in modules
