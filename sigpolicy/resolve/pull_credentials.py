"""Registry credentials for one review, in the order kubelet and users expect.

1. The pod's ``spec.imagePullSecrets``, in order;
2. then those of its service account (``spec.serviceAccountName``, default ``default``);
3. then the webhook's own pull secret (``--pull-secret NAMESPACE/NAME``; OpenShift's global
   ``openshift-config/pull-secret`` fits);
4. then ``--authfile`` (containers-auth.json(5)).

The first credential whose key matches the image's repository wins
(:meth:`CredentialSet.lookup`, most specific key first). Secrets of type
``kubernetes.io/dockerconfigjson`` (key ``.dockerconfigjson``) and ``kubernetes.io/dockercfg``
(key ``.dockercfg``) are read through the image source; any other type, a missing Secret or
ServiceAccount, or one the webhook may not read is skipped, as kubelet skips a missing pull
secret (a log line names it, never its content). Secrets are kept ``ttl`` seconds (missing
ones ``negative_ttl``), so a burst of reviews reads each once. Credentials are looked up only
when a registry must be asked: a cached finding needs none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from sigpolicy.errors import InputError, NotFoundError, SourceError
from sigpolicy.sources.base import PullSecretSource
from sigpolicy.sources.lookups import SharedLookups
from sigpolicy.sources.registry.auth import CredentialSet

__all__ = ["PullContext", "PullCredentials"]

log = logging.getLogger(__name__)

DOCKER_CONFIG_KEYS = {
    "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
    "kubernetes.io/dockercfg": ".dockercfg",
}


class PullContext(NamedTuple):
    """Whose credentials a review may use: the pod's namespace, secrets and account."""

    namespace: str
    pull_secrets: tuple[str, ...] = ()
    service_account: str = "default"


class PullCredentials:
    """Builds the :class:`CredentialSet` of a review (module docstring)."""

    def __init__(
        self,
        source: object | None,
        *,
        webhook_secret: tuple[str, str] | None = None,
        authfile: Path | None = None,
        from_pods: bool = True,
        ttl: float = 30.0,
        negative_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source if isinstance(source, PullSecretSource) else None
        if webhook_secret is not None and self.source is None:
            raise InputError(
                "--pull-secret needs a source that holds Secrets (--catalog, --kubeconfig or"
                " --in-cluster)"
            )
        self.webhook_secret = webhook_secret
        self.from_pods = from_pods and self.source is not None
        # Read now: a bad --authfile is a bad invocation, not a denial per review.
        self.authfile = CredentialSet.from_authfile(authfile) if authfile is not None else None
        self.clock = clock
        self._secrets = SharedLookups(ttl, negative_ttl)

    def describe(self) -> list[str]:
        """Where credentials come from, for logs and ``/readyz`` (names only)."""
        out = []
        if self.from_pods:
            out.append("pod and service account imagePullSecrets")
        if self.webhook_secret is not None:
            out.append(f"secret {'/'.join(self.webhook_secret)}")
        if self.authfile is not None:
            out.append("authfile")
        return out

    async def for_pull(self, pull: PullContext | None) -> CredentialSet:
        sets: list[CredentialSet] = []
        if pull is not None and self.from_pods:
            names = list(pull.pull_secrets)
            names.extend(await self._account_secrets(pull.namespace, pull.service_account))
            for name in dict.fromkeys(names):
                found = await self._secret(pull.namespace, name)
                if found is not None:
                    sets.append(found)
        if self.webhook_secret is not None:
            found = await self._secret(*self.webhook_secret)
            if found is not None:
                sets.append(found)
        if self.authfile is not None:
            sets.append(self.authfile)
        if not sets:
            return CredentialSet.empty()
        return sets[0].merged(*sets[1:])

    async def _account_secrets(self, namespace: str, account: str) -> tuple[str, ...]:
        source = self.source
        assert source is not None  # noqa: S101 - from_pods implies a source
        try:
            names: tuple[str, ...] = await self._secrets.get(
                ("serviceaccount", namespace, account),
                lambda: source.service_account_pull_secrets(namespace, account),
                self.clock(),
            )
        except NotFoundError:
            return ()
        except SourceError as exc:
            log.warning("service account %s/%s not read: %s", namespace, account, exc)
            return ()
        return names

    async def _secret(self, namespace: str, name: str) -> CredentialSet | None:
        try:
            found: CredentialSet | None = await self._secrets.get(
                ("secret", namespace, name), lambda: self._read(namespace, name), self.clock()
            )
        except NotFoundError:
            return None
        except SourceError as exc:
            log.warning("pull secret %s/%s not read: %s", namespace, name, exc.diagnostics())
            return None
        return found

    async def _read(self, namespace: str, name: str) -> CredentialSet | None:
        source = self.source
        assert source is not None  # noqa: S101 - only called with a source
        kind, data = await source.read_secret(namespace, name)
        key = DOCKER_CONFIG_KEYS.get(kind or "")
        if key is None or key not in data:
            log.warning(
                "pull secret %s/%s skipped: type %s is not a docker config secret",
                namespace,
                name,
                kind,
            )
            return None
        try:
            return CredentialSet.from_docker_config(data[key], f"secret {namespace}/{name}")
        except InputError as exc:
            # The message names the secret and what is wrong, never the content.
            log.warning("pull secret %s/%s skipped: %s", namespace, name, exc.diagnostics())
            return None
