"""``sigpolicy serve``'s background audit options: ``--audit-interval`` and ``--audit-lease``."""

from __future__ import annotations

import argparse

from sigpolicy.errors import InputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = 10


def audit_duration(text: str) -> int:
    """``600``, ``600s``, ``10m``, ``1h``, ``1d`` in seconds; at least 10 s."""
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _UNITS else (text, "s")
    if not number.isdigit() or int(number) * _UNITS[unit] < MIN_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration of at least {MIN_INTERVAL}s, like 90s, 10m, 1h"
        )
    return int(number) * _UNITS[unit]


def add_audit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("background audit (docs/audit.md)")
    group.add_argument(
        "--audit-interval",
        type=audit_duration,
        metavar="DURATION",
        help="audit every running workload this often (10m, 1h; default: never)",
    )
    group.add_argument(
        "--audit-lease",
        metavar="NAMESPACE/NAME",
        help="write PolicyReports from the one replica holding this Lease (cluster only)",
    )


def audit_lease(args: argparse.Namespace) -> str | None:
    lease: str | None = args.audit_lease
    if lease is None:
        return None
    namespace, _, name = lease.partition("/")
    if not namespace or not name or "/" in name:
        raise InputError(f"--audit-lease {lease!r}: expected NAMESPACE/NAME")
    if not args.audit_interval:
        raise InputError("--audit-lease goes with --audit-interval")
    if not args.kubeconfig and not args.in_cluster:
        raise InputError("--audit-lease needs a cluster source (--kubeconfig or --in-cluster)")
    return lease
