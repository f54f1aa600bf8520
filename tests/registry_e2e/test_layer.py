"""The registry layer's logic against a contract-shaped fake (tests/registry_e2e/fakes.py):
what the policy lets it ask, how often it asks, and what each registry failure becomes."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from sigpolicy.admission.engine import Admission, AdmissionSettings
from sigpolicy.admission.model import parse_review
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.cli.serve_cmd import examples
from sigpolicy.errors import SourceError, VerificationError
from sigpolicy.policy.engine import Policy
from sigpolicy.reasons import Reason
from sigpolicy.reference.docker import parse_reference
from sigpolicy.reference.manifest import manifest_digest
from sigpolicy.resolve.pull_credentials import PullContext, PullCredentials
from sigpolicy.resolve.registry_layer import RegistryLayer
from sigpolicy.resolve.resolver import Resolver
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.sources.registry.cache import CacheSettings
from sigpolicy.sources.registry.errors import (
    ManifestDigestMismatchError,
    RegistryAuthError,
    RegistryError,
    RegistryNotFoundError,
    RegistryProtocolError,
    RegistryRateLimitedError,
    RegistryTimeoutError,
    RegistryUnreachableError,
)
from tests.registry_e2e.fakes import FakeRegistry

SIGNATURES = examples() / "signatures"
DIGEST = str(manifest_digest((SIGNATURES / "manifest.json").read_bytes()))
REPO = "registry.example.com/shop/checkout"
TAGGED = f"{REPO}:1.4.2"
BOTH_KEYS = (
    ("release", (SIGNATURES / "release-key.sig").read_bytes()),
    ("ci", (SIGNATURES / "ci-key.sig").read_bytes()),
)

POLICY = """\
apiVersion: sigpolicy.io/v1alpha1
kind: ImagePolicy
trust: {trust}
exemptions:
  - name: tools
    reason: build tools are checked elsewhere
    images: ["registry.example.com/tools/**"]
scopes:
  - name: shop
    images: ["registry.example.com/shop/**"]
    pinDigests: true
    require:
      - signedBy: {{trust: [release, ci], threshold: 2, required: [release]}}
  - name: pinned
    images: ["registry.example.com/pinned/**"]
    tagResolution: digest-only
    require:
      - signedBy: {{}}
  - name: anything
    images: ["registry.example.com/open/**"]
    require:
      - insecureAcceptAnything: {{}}
"""


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(trust=examples() / "trust.yaml"))
    loaded, _ = load_policy_and_trust(path, None)
    return loaded


def signed_registry() -> FakeRegistry:
    return FakeRegistry(tags={(REPO, "1.4.2"): DIGEST}, signatures={(REPO, DIGEST): BOTH_KEYS})


ONE_EACH = {f"tag {REPO}:1.4.2": 1, f"manifest {REPO}@{DIGEST}": 1, f"find {REPO}@{DIGEST}": 1}


def layer_over(fake: FakeRegistry, **cache: float) -> RegistryLayer:
    return RegistryLayer(
        fake,
        fake,
        PullCredentials(None),
        cache=CacheSettings(**cache),  # type: ignore[arg-type]
    )


async def decide(policy: Policy, layer: RegistryLayer, image: str, deadline: float = 5.0):  # type: ignore[no-untyped-def]
    resolver = Resolver(None, registry=layer)
    try:
        resolution = await resolver.resolve(
            image, namespace="shop", now=int(time.time()), policy=policy,
            deadline=time.monotonic() + deadline,
        )  # fmt: skip
    except VerificationError as exc:
        return exc.reason, exc.message, None
    decision = await policy.decide(resolution.evidence)
    return decision.reason, decision.message, resolution


# -- what the policy lets the layer ask ---------------------------------------------------

PLANS = [
    # (name, image, needed, resolve_tags)
    ("signed scope, tag", TAGGED, True, True),
    ("digest-only scope", "registry.example.com/pinned/app:1", True, False),
    ("exemption reads nothing", "registry.example.com/tools/make:1", False, False),
    ("insecureAcceptAnything reads nothing", "registry.example.com/open/x:1", False, True),
    ("no scope reads nothing (noMatch)", "quay.io/other/x:1", False, False),
]


@pytest.mark.parametrize(
    ("name", "image", "needed", "resolve_tags"), PLANS, ids=[p[0] for p in PLANS]
)
def test_lookup_plan(
    policy: Policy, name: str, image: str, needed: bool, resolve_tags: bool
) -> None:
    plan = policy.lookup_plan(parse_reference(image), "shop", None)
    assert (plan.needed, plan.resolve_tags) == (needed, resolve_tags)


async def test_signed_tag_is_resolved_verified_and_pinned(policy: Policy) -> None:
    fake = signed_registry()
    reason, message, resolution = await decide(policy, layer_over(fake), TAGGED)
    assert reason is None, message
    assert resolution is not None
    assert resolution.pull_spec == f"{REPO}@{DIGEST}"
    assert str(resolution.evidence.reference) == TAGGED  # identity checked against the tag


async def test_digest_only_scope_denies_a_tag_without_a_request(policy: Policy) -> None:
    fake = signed_registry()
    reason, message, _ = await decide(policy, layer_over(fake), "registry.example.com/pinned/app:1")
    assert reason == Reason.RESOLUTION_FAILED
    assert "tagResolution: digest-only" in message
    assert not fake.calls


async def test_exempt_image_never_reaches_the_registry(policy: Policy) -> None:
    fake = signed_registry()
    reason, _, _ = await decide(policy, layer_over(fake), "registry.example.com/tools/make:1")
    assert reason is None
    assert not fake.calls


async def test_unsigned_names_every_source_asked(policy: Policy) -> None:
    fake = FakeRegistry(tags={(REPO, "9"): DIGEST})
    reason, message, _ = await decide(policy, layer_over(fake), f"{REPO}:9")
    assert reason == Reason.UNSIGNED
    assert "lookaside https://sigs.fake.example" in message
    assert "registry extension API" in message


# -- each failure, its reason class and message ------------------------------------------

HOST = "registry.example.com"
FAILURES: list[tuple[str, Exception, Reason, str]] = [
    ("unreachable", RegistryUnreachableError(HOST, f"registry {HOST}: connection refused"),
     Reason.SOURCE_UNAVAILABLE, "connection refused"),
    ("auth refused names the credential", RegistryAuthError(
        HOST, f"registry {HOST}: authentication refused", credential="secret shop/pull"),
     Reason.SOURCE_UNAVAILABLE, "credential tried: secret shop/pull"),
    ("rate limited", RegistryRateLimitedError(HOST, f"registry {HOST}: 429", retry_after=30),
     Reason.SOURCE_UNAVAILABLE, "retry after 30 s"),
    ("digest mismatch", ManifestDigestMismatchError(HOST, f"registry {HOST}: digest mismatch"),
     Reason.DIGEST_MISMATCH, "digest mismatch"),
    ("timeout", RegistryTimeoutError(HOST, f"registry {HOST}: deadline passed"),
     Reason.TIMEOUT, "deadline passed"),
    ("not found", RegistryNotFoundError(HOST, f"registry {HOST}: no such manifest"),
     Reason.RESOLUTION_FAILED, "no such manifest"),
    ("protocol", RegistryProtocolError(HOST, f"registry {HOST}: body too large"),
     Reason.SOURCE_UNAVAILABLE, "body too large"),
    ("unreadable lookaside", SourceError("lookaside file:///sigs: more than 128 signatures"),
     Reason.SOURCE_UNAVAILABLE, "more than 128 signatures"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "error", "reason", "words"), FAILURES, ids=[f[0] for f in FAILURES]
)
async def test_failure_becomes_a_denial_that_says_what_happened(
    policy: Policy, name: str, error: Exception, reason: Reason, words: str
) -> None:
    fake = signed_registry()
    fake.fail[REPO] = error
    got, message, _ = await decide(policy, layer_over(fake), TAGGED)
    assert got == reason
    assert words in message


async def test_a_hung_registry_ends_at_the_deadline(policy: Policy) -> None:
    fake = signed_registry()
    fake.hang.add(REPO)
    reason, message, _ = await decide(policy, layer_over(fake), TAGGED, deadline=0.2)
    assert reason == Reason.TIMEOUT
    assert "deadline" in message


# -- caches ----------------------------------------------------------------------------------


async def test_second_review_asks_nothing(policy: Policy) -> None:
    fake = signed_registry()
    layer = layer_over(fake)
    for _ in range(3):
        reason, _, _ = await decide(policy, layer, TAGGED)
        assert reason is None
    assert fake.calls == ONE_EACH


async def test_concurrent_reviews_share_one_request(policy: Policy) -> None:
    fake = signed_registry()
    layer = layer_over(fake)
    results = await asyncio.gather(*(decide(policy, layer, TAGGED) for _ in range(20)))
    assert all(reason is None for reason, _, _ in results)
    assert fake.calls == ONE_EACH


async def test_tag_ttl_zero_asks_the_tag_each_time_but_not_the_signatures(policy: Policy) -> None:
    fake = signed_registry()
    layer = layer_over(fake, tag_ttl=0)
    for _ in range(2):
        await decide(policy, layer, TAGGED)
    assert fake.calls == {**ONE_EACH, f"tag {REPO}:1.4.2": 2}


CACHED_ERRORS = [
    ("not found is kept", RegistryNotFoundError(HOST, "gone"), 1),
    ("unreachable is kept", RegistryUnreachableError(HOST, "down"), 1),
    ("auth refused is not kept (another pod's credentials may work)",
     RegistryAuthError(HOST, "no", credential="anonymous"), 2),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "error", "requests"), CACHED_ERRORS, ids=[c[0] for c in CACHED_ERRORS]
)
async def test_which_failures_are_kept(
    policy: Policy, name: str, error: RegistryError, requests: int
) -> None:
    fake = signed_registry()
    fake.fail[REPO] = error
    layer = layer_over(fake)
    for _ in range(2):
        await decide(policy, layer, TAGGED)
    assert fake.calls[f"tag {REPO}:1.4.2"] == requests


async def test_new_trust_generation_clears_the_findings(policy: Policy) -> None:
    fake = signed_registry()
    generation = ["one"]
    layer = RegistryLayer(fake, fake, PullCredentials(None), generation=lambda: generation[0])
    await decide(policy, layer, TAGGED)
    generation[0] = "two"
    await decide(policy, layer, TAGGED)
    assert fake.calls[f"find {REPO}@{DIGEST}"] == 2


async def test_unsigned_findings_are_kept_only_briefly(policy: Policy) -> None:
    fake = FakeRegistry(tags={(REPO, "9"): DIGEST})
    layer = layer_over(fake, negative_ttl=0)
    for _ in range(2):
        await decide(policy, layer, f"{REPO}:9")
    assert fake.calls[f"find {REPO}@{DIGEST}"] == 2


# -- image streams keep priority ---------------------------------------------------------


async def test_an_image_the_catalog_serves_is_not_looked_up(policy: Policy) -> None:
    fake = signed_registry()
    resolver = Resolver(CatalogSource(examples() / "catalog"), registry=layer_over(fake))
    await resolver.resolve(
        f"{REPO}@sha256:b3c238eeade5bf4be20e767324c89d5a1e6a6bb1a2eb0512bf8c977e91fc4bd7",
        namespace="shop", now=int(time.time()), policy=policy,
    )  # fmt: skip
    assert not fake.calls


# -- the pod's credentials reach the registry ---------------------------------------------

CATALOG = """\
apiVersion: v1
kind: List
items:
  - {{apiVersion: v1, kind: Secret, metadata: {{name: pod-pull, namespace: shop}},
      type: kubernetes.io/dockerconfigjson, data: {{.dockerconfigjson: {pod}}}}}
  - {{apiVersion: v1, kind: Secret, metadata: {{name: sa-pull, namespace: shop}},
      type: kubernetes.io/dockercfg, data: {{.dockercfg: {sa}}}}}
  - {{apiVersion: v1, kind: Secret, metadata: {{name: global, namespace: openshift-config}},
      type: kubernetes.io/dockerconfigjson, data: {{.dockerconfigjson: {hub}}}}}
  - {{apiVersion: v1, kind: Secret, metadata: {{name: opaque, namespace: shop}},
      type: Opaque, data: {{token: c2VjcmV0}}}}
  - {{apiVersion: v1, kind: ServiceAccount, metadata: {{name: builder, namespace: shop}},
      imagePullSecrets: [{{name: sa-pull}}, {{name: missing}}]}}
"""


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _config(document: object) -> str:
    return _b64(json.dumps(document))


def _auth(user: str) -> str:
    return _b64(f"{user}:pw-{user}")


@pytest.fixture
def pull_catalog(tmp_path: Path) -> CatalogSource:
    pod = _config({"auths": {"registry.example.com/shop": {"auth": _auth("pod")}}})
    # The legacy .dockercfg form: hosts at the top level.
    sa = _config({"registry.example.com": {"auth": _auth("sa")}, "quay.io": {"auth": _auth("sa")}})
    hub = _config(
        {"auths": {"quay.io": {"auth": _auth("global")}, "docker.io": {"auth": _auth("global")}}}
    )
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "pull.yaml").write_text(CATALOG.format(pod=pod, sa=sa, hub=hub))
    return CatalogSource(folder)


CREDENTIAL_ORDER = [
    ("the pod's secret first", "registry.example.com/shop/checkout", "secret shop/pod-pull"),
    ("then the service account's", "registry.example.com/other/app", "secret shop/sa-pull"),
    ("the account's before the webhook's", "quay.io/team/app", "secret shop/sa-pull"),
    ("then the webhook's own", "docker.io/library/busybox", "secret openshift-config/global"),
    ("nothing matches: anonymous", "ghcr.io/x/y", None),
]


@pytest.mark.parametrize(
    ("name", "repository", "origin"), CREDENTIAL_ORDER, ids=[c[0] for c in CREDENTIAL_ORDER]
)
async def test_credential_order(
    pull_catalog: CatalogSource, name: str, repository: str, origin: str | None
) -> None:
    credentials = PullCredentials(pull_catalog, webhook_secret=("openshift-config", "global"))
    found = await credentials.for_pull(
        PullContext("shop", ("pod-pull", "opaque", "not-there"), "builder")
    )
    credential = found.lookup(repository)
    # The label names the secret (and the key it matched), never the content.
    assert (credential.origin.split(", entry ")[0] if credential else None) == origin
    if credential is not None:
        assert credential.password.startswith("pw-")


async def test_review_passes_the_pods_pull_secrets(
    pull_catalog: CatalogSource, policy: Policy
) -> None:
    fake = signed_registry()
    layer = RegistryLayer(fake, fake, PullCredentials(pull_catalog))
    admission = Admission(lambda: policy, pull_catalog, AdmissionSettings(), registry=layer)
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u1", "operation": "CREATE", "namespace": "shop",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "userInfo": {"username": "alice"},
            "object": {
                "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
                "spec": {"serviceAccountName": "builder", "imagePullSecrets": [{"name": "pod-pull"}],
                         "containers": [{"name": "c", "image": TAGGED}]},
            },
        },
    }  # fmt: skip
    outcome = await admission.review(parse_review(review))
    assert outcome.allowed, outcome.message
    used = fake.credentials_seen[0].lookup(REPO)
    assert used is not None and used.origin.startswith("secret shop/pod-pull")


BAD_TAG_RESOLUTION = [("misspelt", "registries"), ("not a string", "[registry]"), ("empty", '""')]


@pytest.mark.parametrize(
    ("name", "value"), BAD_TAG_RESOLUTION, ids=[b[0] for b in BAD_TAG_RESOLUTION]
)
def test_policy_check_refuses_a_bad_tag_resolution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    from sigpolicy.cli.main import main

    path = tmp_path / "policy.yaml"
    path.write_text(
        "apiVersion: sigpolicy.io/v1alpha1\nkind: ImagePolicy\nscopes:\n"
        f"  - name: s\n    images: ['quay.io/**']\n    tagResolution: {value}\n"
        "    require: [{reject: {}}]\n"
    )
    assert main(["policy", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "tagResolution" in err and err.count("\n") == 1
