"""The ``--registry`` option group, shared by ``check-image``, ``policy explain``, ``admit``,
``serve`` and ``import-signatures``.

    --registry [--registries-d DIR] [--authfile FILE] [--cert-dir DIR]
        [--insecure-registry HOST ...] [--pull-secret NAMESPACE/NAME] [--pod-pull-secrets]
        [--registry-cache-ttl 3600] [--registry-tag-ttl 30] [--registry-negative-ttl 5]
        [--registry-timeout 8]

With ``--registry``, a reference the image API (or catalog) does not serve is looked up at its
registry (``docs/policy.md``, "Where images are looked up"); without a source option the
registry is the only source. Every file named is read at start: a bad one is exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sigpolicy.errors import InputError

if TYPE_CHECKING:
    from sigpolicy.resolve.registry_layer import RegistryLayer
    from sigpolicy.sources.base import ImageSource

__all__ = ["RegistryChoice", "add_registry_options", "open_registry", "registry_choice"]


class RegistryChoice(NamedTuple):
    """The registry options, checked (``sigpolicy serve`` keeps them in its options)."""

    registries_d: Path | None = None
    authfile: Path | None = None
    cert_dir: Path | None = None
    insecure: tuple[str, ...] = ()
    pull_secret: tuple[str, str] | None = None
    pod_pull_secrets: bool = False
    cache_ttl: float = 3600.0
    tag_ttl: float = 30.0
    negative_ttl: float = 5.0
    timeout: float = 8.0


def add_registry_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("registries (images no image stream serves; docs/webhook.md)")
    group.add_argument(
        "--registry",
        action="store_true",
        help="look up images the image API does not serve at their registry",
    )
    group.add_argument(
        "--registries-d", metavar="DIR", help="registries.d(5) folder: lookaside stores, sigstore"
    )
    group.add_argument(
        "--authfile", metavar="FILE", help="containers-auth.json(5) / .dockerconfigjson"
    )
    group.add_argument(
        "--cert-dir", metavar="DIR", help="containers-certs.d(5) folder: HOST[:PORT]/*.crt"
    )
    group.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="plain HTTP, no TLS verification, for this host only (repeatable)",
    )
    group.add_argument(
        "--pull-secret",
        metavar="NAMESPACE/NAME",
        help="a dockerconfigjson Secret of the webhook's own, tried after the pod's"
        " (e.g. openshift-config/pull-secret)",
    )
    group.add_argument(
        "--pod-pull-secrets",
        action="store_true",
        help="use the pod's imagePullSecrets and its service account's (needs get on"
        " secrets and serviceaccounts)",
    )
    group.add_argument(
        "--registry-timeout",
        type=_seconds,
        default=8.0,
        metavar="SECONDS",
        help="how long one image's registry lookup may take in check-image, policy explain and"
        " import-signatures (default 8; admit and serve use their --deadline)",
    )
    for name, default, what in (
        ("cache-ttl", 3600.0, "signatures found per digest"),
        ("tag-ttl", 30.0, "tag -> digest answers"),
        ("negative-ttl", 5.0, "not-found and unreachable answers"),
    ):
        group.add_argument(
            f"--registry-{name}",
            type=_seconds,
            default=default,
            metavar="SECONDS",
            help=f"how long {what} are kept (default {default:g}; 0: not kept)",
        )


def registry_choice(args: argparse.Namespace) -> RegistryChoice | None:
    """The checked options, or None without ``--registry`` (other registry options then
    are a mistake worth saying)."""
    given = [
        flag
        for flag, value in (
            ("--registries-d", args.registries_d),
            ("--authfile", args.authfile),
            ("--cert-dir", args.cert_dir),
            ("--insecure-registry", args.insecure_registry),
            ("--pull-secret", args.pull_secret),
            ("--pod-pull-secrets", args.pod_pull_secrets),
            ("--registry-timeout", args.registry_timeout != 8.0),
        )
        if value
    ]
    if not args.registry:
        if given:
            raise InputError(f"{given[0]} needs --registry")
        return None
    secret = None
    if args.pull_secret is not None:
        namespace, _, name = args.pull_secret.partition("/")
        if not namespace or not name or "/" in name:
            raise InputError(f"--pull-secret {args.pull_secret!r}: expected NAMESPACE/NAME")
        secret = (namespace, name)
    for flag, value in (("--registries-d", args.registries_d), ("--cert-dir", args.cert_dir)):
        if value is not None and not Path(value).is_dir():
            raise InputError(f"{flag} {value}: not a folder")
    return RegistryChoice(
        registries_d=Path(args.registries_d) if args.registries_d else None,
        authfile=Path(args.authfile) if args.authfile else None,
        cert_dir=Path(args.cert_dir) if args.cert_dir else None,
        insecure=tuple(args.insecure_registry),
        pull_secret=secret,
        pod_pull_secrets=args.pod_pull_secrets,
        cache_ttl=args.registry_cache_ttl,
        tag_ttl=args.registry_tag_ttl,
        negative_ttl=args.registry_negative_ttl,
        timeout=args.registry_timeout,
    )


def open_registry(
    choice: RegistryChoice,
    source: ImageSource | None,
    *,
    generation: Callable[[], str] | None = None,
) -> RegistryLayer:
    """The registry layer the choice describes; files are read now (bad ones: InputError)."""
    from sigpolicy.resolve.pull_credentials import PullCredentials
    from sigpolicy.resolve.registry_layer import RegistryLayer
    from sigpolicy.sources.registry.cache import CacheSettings
    from sigpolicy.sources.registry.client import RegistryClient
    from sigpolicy.sources.registry.finder import SignatureFinder
    from sigpolicy.sources.registry.registries_d import RegistriesD
    from sigpolicy.sources.registry.tls import RegistryOptions

    if choice.pod_pull_secrets and source is None:
        raise InputError("--pod-pull-secrets needs a cluster or catalog source")
    credentials = PullCredentials(
        source,
        webhook_secret=choice.pull_secret,
        authfile=choice.authfile,
        from_pods=choice.pod_pull_secrets,
    )
    registries_d = RegistriesD.load(choice.registries_d) if choice.registries_d else None
    client = RegistryClient(
        RegistryOptions(cert_dir=choice.cert_dir, insecure_hosts=frozenset(choice.insecure))
    )
    cache = CacheSettings(
        findings_ttl=choice.cache_ttl, tag_ttl=choice.tag_ttl, negative_ttl=choice.negative_ttl
    )
    return RegistryLayer(
        client,
        SignatureFinder(client, registries_d),
        credentials,
        cache=cache,
        generation=generation,
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 7 * 86400:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 0 to 604800 seconds")
    return value
