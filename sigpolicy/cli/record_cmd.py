"""``sigpolicy record``: verify every ImageSignature that needs it and record the verdicts.

    sigpolicy record (--trust FILE | --keyring FILE...) [--catalog DIR | --kubeconfig FILE |
        --in-cluster] [--once] [--stale-after 24h] [--resync-every 10m]
        [--lease NAMESPACE/NAME --identity ID] [--import-signatures [registry options]]

``--import-signatures`` first imports the signatures registries hold, as
``sigpolicy import-signatures --all`` does (with ``--lease``, by the leader, each time it
starts leading); then the recorder verifies them.
With ``--once``: one pass, then exit 0 (everything recorded), 1 (some images could not be
written after retries) or 2 (bad invocation, source unreachable from the start).
Without it: runs until interrupted; with ``--lease``, only the replica holding the
coordination.k8s.io Lease writes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

from sigpolicy.cli.import_signatures_cmd import add_import_options
from sigpolicy.cli.logs import setup_logging
from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED
from sigpolicy.cli.options import add_source_options, add_trust_options, load_trust, open_source
from sigpolicy.cli.registry_options import add_registry_options, registry_choice
from sigpolicy.errors import InputError
from sigpolicy.recorder.loop import Recorder, RecorderSettings, run_forever
from sigpolicy.signature.backends import BACKENDS
from sigpolicy.sources.base import ImageSource
from sigpolicy.trust.store import TrustStore
from sigpolicy.trust.watch import TrustStoreWatcher

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> int:
    """``90``, ``90s``, ``15m``, ``24h``, ``7d`` in seconds."""
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _UNITS else (text, "s")
    if not number.isdigit() or int(number) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 24h")
    return int(number) * _UNITS[unit]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigpolicy record",
        description="Keep the Trusted/ForImage conditions of ImageSignatures true.",
    )
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument(
        "--stale-after",
        type=duration,
        default=duration("24h"),
        metavar="DURATION",
        help="re-verify signatures probed longer ago (default 24h)",
    )
    parser.add_argument(
        "--resync-every",
        type=duration,
        default=duration("10m"),
        metavar="DURATION",
        help="full pass interval when running (default 10m)",
    )
    parser.add_argument(
        "--lease",
        metavar="NAMESPACE/NAME",
        help="elect one writer through this Lease (cluster only)",
    )
    parser.add_argument(
        "--identity",
        default=f"{socket.gethostname()}-{os.getpid()}",
        help="this replica's leader election identity",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="native")
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    add_trust_options(parser)
    add_source_options(parser)
    parser.add_argument(
        "--import-signatures",
        action="store_true",
        help="first import the signatures registries hold (as sigpolicy import-signatures"
        " --all; the registry options below), then verify",
    )
    add_import_options(parser)
    add_registry_options(parser)
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.lease and "/" not in args.lease:
        raise InputError("--lease: expected NAMESPACE/NAME")
    if args.lease and args.catalog:
        raise InputError("--lease needs a cluster source (--kubeconfig or --in-cluster)")
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return EXIT_OK


async def _run(args: argparse.Namespace) -> int:
    source = open_source(args)
    try:
        trust = await _TrustFeed.open(args, source)
        recorder = Recorder(
            source,
            trust.current,
            RecorderSettings(stale_after=args.stale_after, backend=args.backend),
        )
        if args.once:
            if args.import_signatures:
                await _import(source, args)
            totals = await recorder.run_pass()
            return EXIT_OK if not totals.failed else EXIT_REJECTED

        async def work() -> None:
            if args.import_signatures:  # by the leader only, each time it starts leading
                await _import(source, args)
            await run_forever(
                recorder,
                resync_every=args.resync_every,
                trust_generation=trust.generation,
                refresh_trust=trust.refresh,
            )

        if not args.lease:
            await work()
            return EXIT_OK
        return await _lead(source, args, work)
    finally:
        await source.close()


async def _import(source: ImageSource, args: argparse.Namespace) -> None:
    """``--import-signatures``: one import pass before the recorder starts."""
    from sigpolicy.cli.import_signatures_cmd import import_all

    args.registry = True
    choice = registry_choice(args)
    assert choice is not None  # noqa: S101 - --registry is set just above
    totals = await import_all(source, choice, await source.list_images(), args, sys.stderr)
    log = logging.getLogger("sigpolicy.record")
    for failure in totals.failed:
        log.warning("import-signatures: %s", failure)
    log.info("import-signatures: %s", totals.summary())


async def _lead(
    source: ImageSource, args: argparse.Namespace, work: Callable[[], Awaitable[None]]
) -> int:
    from sigpolicy.sources.cluster import ClusterSource

    if not isinstance(source, ClusterSource):
        raise InputError("--lease needs a cluster source (--kubeconfig or --in-cluster)")
    namespace, _, name = args.lease.partition("/")
    elector = source.leader_elector(namespace=namespace, name=name, identity=args.identity)
    while True:
        await elector.run(work)
        logging.getLogger("sigpolicy.record").warning("record: not leading; waiting to lead again")


class _TrustFeed:
    """The trust store in force: fixed for --keyring, reloaded from --trust as it changes."""

    def __init__(self, store: TrustStore | None, watcher: TrustStoreWatcher | None) -> None:
        self._store = store
        self._watcher = watcher

    @classmethod
    async def open(cls, args: argparse.Namespace, source: ImageSource) -> _TrustFeed:
        if args.keyring:
            return cls(await load_trust(args, source), None)
        return cls(None, await TrustStoreWatcher.aopen(args.trust, source, now=time.time()))

    def current(self) -> TrustStore:
        if self._watcher is not None:
            return self._watcher.store
        assert self._store is not None  # noqa: S101 - one of the two is always set
        return self._store

    def generation(self) -> str:
        return self.current().generation

    async def refresh(self) -> None:
        if self._watcher is not None:
            await self._watcher.refresh(now=time.time())
