"""Entry point of the ``sigpolicy`` command.

Exit status (ARCHITECTURE.md): 0 success or allowed, 1 not trusted or denied, 2 invalid
invocation, unreadable or malformed input. Bad input never produces a traceback: every
:class:`SigpolicyError` becomes one line on stderr.

Subcommand modules are imported only when chosen, so that a one-shot ``sigpolicy verify``
loads the verification path and nothing else.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2

# name -> (module, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "verify": ("sigpolicy.cli.verify_cmd", "verify standalone signature blobs"),
    "verify-image": (
        "sigpolicy.cli.verify_image_cmd",
        "verify an Image's signatures and record the verdicts",
    ),
    "record": (
        "sigpolicy.cli.record_cmd",
        "keep ImageSignature conditions recorded (watch, or --once)",
    ),
    "check-image": ("sigpolicy.cli.check_image_cmd", "one policy decision for one image"),
    "import-signatures": (
        "sigpolicy.cli.import_signatures_cmd",
        "create ImageSignatures from the signatures registries hold",
    ),
    "policy": ("sigpolicy.cli.policy_cmd", "check a policy, explain a decision, run a test suite"),
    "serve": ("sigpolicy.cli.serve_cmd", "run the admission webhook over HTTPS"),
    "admit": ("sigpolicy.cli.admit_cmd", "print the webhook's answer to an AdmissionReview file"),
    "audit": (
        "sigpolicy.cli.audit_cmd",
        "decide every running workload's images; diff two policies on them",
    ),
    "demo": ("sigpolicy.cli.demo_cmd", "verify the bundled example signatures"),
}


def build_parser() -> argparse.ArgumentParser:
    # Imported here: only a missing or unknown command needs it, and a one-shot
    # ``sigpolicy verify`` starts faster without.
    import argparse

    parser = argparse.ArgumentParser(
        prog="sigpolicy",
        description="Verify container image signatures and enforce an image policy.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in _COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
        del module
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in _COMMANDS:
        # Unknown or missing command: let argparse print usage and exit 2.
        build_parser().parse_args(args)
        return EXIT_USAGE
    module = import_module(_COMMANDS[args[0]][0])
    run: Callable[[Sequence[str]], int] = module.run
    return run_guarded(lambda: run(args[1:]))


def run_guarded(action: Callable[[], int]) -> int:
    from sigpolicy.errors import SigpolicyError

    try:
        return action()
    except SigpolicyError as exc:
        print(f"sigpolicy: error: {exc.diagnostics()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sigpolicy: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _version() -> str:
    from sigpolicy import __version__

    return f"sigpolicy {__version__}"


if __name__ == "__main__":
    sys.exit(main())
