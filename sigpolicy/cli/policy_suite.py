"""``sigpolicy policy test``: a YAML suite of images or workloads with expected decisions.

```yaml
apiVersion: sigpolicy.io/v1alpha1
kind: PolicyTest
policy: policy.yaml            # relative to the suite
trust: trust.yaml              # optional; default: the policy's trust:
catalog: catalog/              # default source of images (or dir: per case)
cases:
  - name: the signed release is allowed
    image: registry.example.com/shop/checkout:1.4.2
    namespace: shop
    expect: allowed            # allowed | denied | warned (allowed, but would be denied)
    scope: shop                # optional: the scope that must decide
    reason: identity-mismatch  # optional: the reason class of a denial
  - name: every container of a deployment
    workload: deployment.yaml
    expect: denied
```

Every case runs offline against the same policy; a mismatch prints expected and actual side by
side, and the command exits 1.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sigpolicy.cli.main import EXIT_OK, EXIT_REJECTED
from sigpolicy.cli.policy_loading import load_policy_and_trust
from sigpolicy.errors import InputError, PolicyError, SigpolicyError, VerificationError
from sigpolicy.policy.decision import Decision
from sigpolicy.policy.engine import Policy, failed_before_policy
from sigpolicy.reference.docker import parse_reference
from sigpolicy.resolve.resolver import Resolver
from sigpolicy.resolve.workloads import container_images, pod_spec
from sigpolicy.sources.catalog import CatalogSource
from sigpolicy.sources.evidence import evidence_from_dir
from sigpolicy.yamlfile import load_documents, load_one


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Case(_Model):
    name: str
    image: str | None = None
    workload: str | None = None
    namespace: str | None = None
    dir: str | None = None
    catalog: str | None = None
    expect: Literal["allowed", "denied", "warned"]
    scope: str | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> Case:
        if (self.image is None) == (self.workload is None):
            raise ValueError("a case has exactly one of image and workload")
        return self


class Suite(_Model):
    api_version: Literal["sigpolicy.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["PolicyTest"]
    policy: str
    trust: str | None = None
    catalog: str | None = None
    cases: list[Case] = Field(min_length=1)


def run_suite(path: Path) -> int:
    suite = _load(path)
    base = path.parent
    policy, store = load_policy_and_trust(
        base / suite.policy, str(base / suite.trust) if suite.trust else None
    )
    failures = 0
    try:
        for case in suite.cases:
            problems = asyncio.run(_run_case(case, suite, policy, base))
            failures += bool(problems)
            if problems:
                print(f"FAIL {case.name}")
                for line in problems:
                    print(f"     {line}")
            else:
                print(f"PASS {case.name}")
    finally:
        if store is not None:
            store.close()
    print(f"{len(suite.cases) - failures} passed, {failures} failed")
    return EXIT_OK if not failures else EXIT_REJECTED


def _load(path: Path) -> Suite:
    try:
        document = load_one(path.read_text(encoding="utf-8"), where=str(path))
        return Suite.model_validate(document)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"{path}: {where}: {first['msg']}") from None


async def _run_case(case: Case, suite: Suite, policy: Policy, base: Path) -> list[str]:
    try:
        decisions = [
            await _decide(image, case, suite, policy, base) for image in _images(case, base)
        ]
    except SigpolicyError as exc:
        return [f"could not decide: {exc.diagnostics()}"]
    problems = []
    for decision in decisions:
        actual = "allowed" if decision.would_allow else "warned" if decision.allowed else "denied"
        mismatches: list[tuple[str, str, str | None]] = []
        if actual != case.expect:
            mismatches.append(("decision", case.expect, actual))
        if case.scope is not None:
            got = decision.scope.name if decision.scope else None
            if got != case.scope:
                mismatches.append(("scope", case.scope, got))
        if case.reason is not None and str(decision.reason) != case.reason:
            mismatches.append(("reason", case.reason, str(decision.reason)))
        for what, expected, got in mismatches:
            problems.append(f"{decision.image}: {what}: expected {expected}, got {got}")
        if mismatches:
            problems.append(f"  because: {decision.message}")
    return problems


def _images(case: Case, base: Path) -> list[str]:
    if case.image is not None:
        return [case.image]
    assert case.workload is not None  # noqa: S101 - checked by the model
    path = base / case.workload
    images: list[str] = []
    for document in load_documents(path.read_text(encoding="utf-8"), where=str(path)):
        spec = pod_spec(document.data) if isinstance(document.data, dict) else None
        if spec is None:
            kind = document.data.get("kind") if isinstance(document.data, dict) else None
            raise InputError(
                f"{path}:{document.line}: {kind or 'the document'} has no pod template"
            )
        images.extend(c.image for c in container_images(spec))
    if not images:
        raise InputError(f"{path}: no container images")
    return images


async def _decide(image: str, case: Case, suite: Suite, policy: Policy, base: Path) -> Decision:
    try:
        return await _decide_found(image, case, suite, policy, base)
    except VerificationError as exc:
        return failed_before_policy(image, case.namespace, exc.reason, exc.message)


async def _decide_found(
    image: str, case: Case, suite: Suite, policy: Policy, base: Path
) -> Decision:
    reference = parse_reference(image)
    if case.dir is not None:
        evidence = evidence_from_dir(base / case.dir, reference, namespace=case.namespace)
    else:
        catalog = case.catalog or suite.catalog
        if catalog is None:
            raise InputError(f"case {case.name!r}: no dir or catalog to find the image in")
        resolver = Resolver(CatalogSource(base / catalog))
        resolution = await resolver.resolve(image, namespace=case.namespace, now=int(time.time()))
        evidence = resolution.evidence
    return await policy.decide(evidence)
