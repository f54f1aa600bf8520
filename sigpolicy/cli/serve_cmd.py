"""``sigpolicy serve``: run the admission webhook over HTTPS.

    sigpolicy serve (--policy FILE | --example | --cluster-image-policies [--base-policy FILE])
        [--trust FILE]
        [--catalog DIR | --kubeconfig FILE [--context NAME] | --in-cluster]
        [--host 127.0.0.1] [--port 8443]
        (--tls-cert FILE --tls-key FILE | --self-signed [--tls-dir DIR] [--tls-name NAME...])
        [--deadline 8] [--fail-open] [--mutate] [--registry-host HOST...] [--log-level INFO]
        [--registry [--registries-d DIR] [--authfile FILE] [--cert-dir DIR] ...]

``--registry`` (:mod:`sigpolicy.cli.registry_options`) looks up at their registry the images
the image API does not serve; alone, without a source option, the registry is the only one.

``--example`` runs the embedded default: the bundled example policy and catalog, served on
127.0.0.1:8443 with a self-signed certificate made at start (its CA in
``<tmp>/sigpolicy-example/ca.crt``); it prints the ``curl`` command that sends it a sample
review. The options are parsed here; the server itself is the ``webhook`` package, which
depends on ``sigpolicy`` and not the reverse, so it is looked up by name when run.

Exit status: 0 after a clean shutdown, 2 for a bad invocation, an invalid policy or trust
store, unusable TLS files or a port that cannot be bound.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Sequence
from importlib import import_module
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

from sigpolicy.admission.engine import DEFAULT_REGISTRY_HOSTS, AdmissionSettings
from sigpolicy.cli.audit_options import add_audit_options, audit_lease
from sigpolicy.cli.options import add_source_options
from sigpolicy.cli.registry_options import RegistryChoice, add_registry_options, registry_choice
from sigpolicy.errors import InputError

WEBHOOK_SERVER = "webhook.server"
DEFAULT_PORT = 8443
DEFAULT_DEADLINE = 8.0
WEBHOOK_TIMEOUT_LIMIT = 30.0  # the API server's hard maximum for timeoutSeconds
CLUSTER_IMAGE_POLICIES = Path("cluster: clusterimagepolicies, imagepolicies")


def examples() -> Path:
    return Path(str(files("sigpolicy") / "examples"))


class ServeOptions(NamedTuple):
    """Everything ``sigpolicy serve`` was told, checked."""

    policy: Path
    trust: Path | None
    catalog: Path | None
    kubeconfig: str | None
    context: str | None
    in_cluster: bool
    host: str
    port: int
    tls_cert: Path | None
    tls_key: Path | None
    tls_dir: Path | None
    tls_names: tuple[str, ...]
    tls_reload_interval: float
    admission: AdmissionSettings
    mutate: bool
    log_level: str
    example: bool = False
    registry: RegistryChoice | None = None
    # --cluster-image-policies: the cluster's ClusterImagePolicy/ImagePolicy objects are the
    # policy (``policy`` then names them); ``base_policy`` is the nodes' own policy.json.
    cluster_image_policies: bool = False
    base_policy: Path | None = None
    # --audit-interval: audit every workload in the background (sigpolicy.audit.background);
    # its PolicyReports are written by the replica holding the Lease --audit-lease.
    audit_interval: int | None = None
    audit_lease: str | None = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigpolicy serve",
        description="Run the admission webhook (POST /validate, /mutate; /healthz, /readyz,"
        " /metrics) over HTTPS.",
    )
    what = parser.add_argument_group("what to enforce").add_mutually_exclusive_group(required=True)
    what.add_argument("--policy", metavar="FILE", help="sigpolicy YAML or containers-policy.json")
    what.add_argument(
        "--cluster-image-policies",
        action="store_true",
        help="the cluster's ClusterImagePolicy and ImagePolicy objects (config.openshift.io/v1),"
        " watched: the decisions CRI-O makes with the policy.json the MCO writes",
    )
    what.add_argument(
        "--example",
        action="store_true",
        help="the embedded default: the bundled example policy and catalog, self-signed TLS",
    )
    parser.add_argument(
        "--trust", metavar="FILE", help="trust store (default: the policy's trust:)"
    )
    parser.add_argument(
        "--base-policy",
        metavar="FILE",
        help="with --cluster-image-policies: the nodes' policy.json before the objects"
        " (default: the MCO's, which accepts anything no scope covers)",
    )
    add_source_options(parser, "where images come from (one is required, or --registry)")
    add_registry_options(parser)
    listen = parser.add_argument_group("where to listen")
    listen.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    listen.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    tls = parser.add_argument_group("TLS (a certificate and key, or --self-signed)")
    tls.add_argument("--tls-cert", metavar="FILE", help="PEM certificate (chain); reloaded")
    tls.add_argument("--tls-key", metavar="FILE", help="PEM private key; reloaded")
    tls.add_argument(
        "--self-signed",
        action="store_true",
        help="make a CA and a server certificate at start (for trying it out)",
    )
    tls.add_argument(
        "--tls-dir",
        metavar="DIR",
        help="where --self-signed writes ca.crt, tls.crt, tls.key (default: a temporary folder)",
    )
    tls.add_argument(
        "--tls-name",
        action="append",
        default=[],
        metavar="NAME",
        help="a DNS name or IP of the self-signed certificate, e.g. the Service's"
        " NAME.NAMESPACE.svc (repeatable; localhost, 127.0.0.1 and ::1 always)",
    )
    tls.add_argument(
        "--tls-reload-interval",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how often the certificate files are checked for changes (default 10)",
    )
    decide = parser.add_argument_group("decisions")
    decide.add_argument(
        "--deadline",
        type=_seconds,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help="internal deadline, below the webhook's timeoutSeconds (default 8 of 10)",
    )
    decide.add_argument(
        "--fail-open",
        action="store_true",
        help="admit (with a warning) on timeout, internal error or not ready; default: deny",
    )
    decide.add_argument(
        "--mutate",
        action="store_true",
        help="serve POST /mutate, which pins resolved digests with a JSON patch",
    )
    decide.add_argument(
        "--registry-host",
        action="append",
        default=[],
        metavar="HOST",
        help="the cluster's integrated registry (repeatable; default"
        f" {', '.join(DEFAULT_REGISTRY_HOSTS)})",
    )
    decide.add_argument(
        "--check-owned-pods",
        action="store_true",
        help="also check pods created by a controller (default: their template was checked)",
    )
    add_audit_options(parser)
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    return parser


def parse_options(argv: Sequence[str]) -> ServeOptions:
    args = build_parser().parse_args(argv)
    if args.deadline >= WEBHOOK_TIMEOUT_LIMIT:
        raise InputError(f"--deadline must be below {WEBHOOK_TIMEOUT_LIMIT:g} s")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: not a port number")
    catalog = Path(args.catalog) if args.catalog else None
    registry = registry_choice(args)
    if args.example:
        policy = examples() / "policy.yaml"
        if catalog is None and not args.kubeconfig and not args.in_cluster:
            catalog = examples() / "catalog"
    elif args.cluster_image_policies:
        if not args.kubeconfig and not args.in_cluster:
            raise InputError(
                "--cluster-image-policies reads the cluster: give --kubeconfig or --in-cluster"
            )
        policy = CLUSTER_IMAGE_POLICIES
    else:
        policy = Path(args.policy)
        if catalog is None and not args.kubeconfig and not args.in_cluster and registry is None:
            raise InputError(
                "give where images come from: --catalog, --kubeconfig, --in-cluster or --registry"
            )
    if args.base_policy and not args.cluster_image_policies:
        raise InputError("--base-policy goes with --cluster-image-policies")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise InputError("--tls-cert and --tls-key go together")
    if args.tls_cert and args.self_signed:
        raise InputError("--self-signed and --tls-cert exclude each other")
    self_signed = args.self_signed or (args.example and not args.tls_cert)
    if not args.tls_cert and not self_signed:
        raise InputError("give --tls-cert and --tls-key, or --self-signed")
    tls_dir = Path(args.tls_dir) if args.tls_dir else None
    if self_signed and tls_dir is None and args.example:
        tls_dir = Path(tempfile.gettempdir()) / "sigpolicy-example"
    registry_hosts = tuple(args.registry_host) or DEFAULT_REGISTRY_HOSTS
    return ServeOptions(
        policy=policy,
        trust=Path(args.trust) if args.trust else None,
        catalog=catalog,
        kubeconfig=args.kubeconfig,
        context=args.context,
        in_cluster=args.in_cluster,
        host=args.host,
        port=args.port,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        tls_dir=tls_dir,
        tls_names=tuple(dict.fromkeys(["localhost", "127.0.0.1", "::1", *args.tls_name])),
        tls_reload_interval=args.tls_reload_interval,
        admission=AdmissionSettings(
            deadline=args.deadline,
            fail_open=args.fail_open,
            registry_hosts=registry_hosts,
            pin_digests=args.mutate,
            check_owned_pods=args.check_owned_pods,
        ),
        mutate=args.mutate,
        log_level=args.log_level,
        example=args.example,
        registry=registry,
        cluster_image_policies=args.cluster_image_policies,
        base_policy=Path(args.base_policy) if args.base_policy else None,
        audit_interval=args.audit_interval,
        audit_lease=audit_lease(args),
    )


def run(argv: Sequence[str]) -> int:
    options = parse_options(argv)
    try:
        server = import_module(WEBHOOK_SERVER)
    except ModuleNotFoundError as exc:
        raise InputError(
            f"sigpolicy serve needs the webhook package and its dependencies ({exc.name} is"
            " missing): install sigpolicy with fastapi, uvicorn and prometheus-client"
        ) from None
    serve: Callable[[ServeOptions], int] = server.serve
    return serve(options)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of seconds above 0")
    return value
