"""Options shared by the commands that read images and trust: where from, and whom to trust."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Protocol

from sigpolicy.cli.files import read_file
from sigpolicy.errors import InputError
from sigpolicy.reference.docker import Reference, parse_reference
from sigpolicy.reference.identity import (
    ExactReference,
    ExactRepository,
    IdentityRule,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    RemapIdentity,
)
from sigpolicy.signature.openpgp.limits import MAX_KEYFILE_BYTES
from sigpolicy.sources.base import ImageSource
from sigpolicy.trust.store import TrustStore

IDENTITY_RULES = (
    "matchRepoDigestOrExact (default), matchExact, matchRepository,"
    " exactReference:REF, exactRepository:REPO, remapIdentity:PREFIX=SIGNED_PREFIX"
)


def add_source_options(
    parser: argparse.ArgumentParser,
    title: str = "where images come from (default: the cluster of the kubeconfig)",
) -> None:
    group = parser.add_argument_group(title)
    exclusive = group.add_mutually_exclusive_group()
    exclusive.add_argument(
        "--catalog", metavar="DIR", help="a folder of image API objects (YAML/JSON)"
    )
    exclusive.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig of the cluster")
    exclusive.add_argument(
        "--in-cluster", action="store_true", help="use the pod's service account"
    )
    group.add_argument("--context", metavar="NAME", help="kubeconfig context")


def add_trust_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("whom to trust").add_mutually_exclusive_group(required=True)
    group.add_argument("--trust", metavar="FILE", help="a trust store file (docs/trust-store.md)")
    group.add_argument(
        "--keyring",
        metavar="FILE",
        action="append",
        help="trusted public keys, binary or armored (repeatable); a trust store of unnamed keys",
    )


class SourceChoice(Protocol):
    """Where images come from, as the source options chose it (parsed arguments, or
    ``sigpolicy serve``'s checked options)."""

    @property
    def catalog(self) -> str | Path | None: ...

    @property
    def kubeconfig(self) -> str | None: ...

    @property
    def context(self) -> str | None: ...

    @property
    def in_cluster(self) -> bool: ...


def open_source(args: SourceChoice) -> ImageSource:
    if args.catalog is not None:
        from sigpolicy.sources.catalog import CatalogSource

        return CatalogSource(Path(args.catalog))
    from sigpolicy.sources.cluster import ClusterSource

    if args.in_cluster:
        return ClusterSource.in_cluster()
    return ClusterSource.from_kubeconfig(
        args.kubeconfig or default_kubeconfig(), context=args.context
    )


def default_kubeconfig() -> str:
    """The kubeconfig kubectl would use: the first file of ``$KUBECONFIG``, else
    ``~/.kube/config``."""
    listed = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return listed or str(Path.home() / ".kube" / "config")


async def load_trust(args: argparse.Namespace, source: ImageSource | None) -> TrustStore:
    if args.keyring:
        files = [
            (path, read_file(path, what="keyring", limit=MAX_KEYFILE_BYTES))
            for path in args.keyring
        ]
        return TrustStore.from_keyrings(files)
    from sigpolicy.trust.load import aload_trust_store

    return await aload_trust_store(args.trust, source)


def parse_identity_rule(text: str) -> IdentityRule:
    """``--identity-rule``: a signedIdentity rule of SEMANTICS.md §3 in one word."""
    kind, _, argument = text.partition(":")
    simple: dict[str, IdentityRule] = {
        "matchRepoDigestOrExact": MatchRepoDigestOrExact(),
        "matchExact": MatchExact(),
        "matchRepository": MatchRepository(),
    }
    if kind in simple and not argument:
        return simple[kind]
    if kind == "exactReference" and argument:
        return ExactReference(argument)
    if kind == "exactRepository" and argument:
        return ExactRepository(argument)
    if kind == "remapIdentity" and "=" in argument:
        prefix, _, signed_prefix = argument.partition("=")
        return RemapIdentity(prefix, signed_prefix)
    raise InputError(f"--identity-rule {text!r}: expected one of {IDENTITY_RULES}")


def parse_expected_identity(text: str) -> Reference:
    try:
        return parse_reference(text)
    except InputError as exc:
        raise InputError(f"--expected-identity: {exc}") from None
