"""containers-policy.json scopes of the ``docker`` transport for an image reference.

The requirements for an image come from the first scope, in this order, that the policy
defines (containers/image ``policy_eval.go:requirementsForImageRef`` over
``docker/policyconfiguration/naming.go``):

1. The full reference: ``repository:tag`` or ``repository@digest``, fully expanded.
2. The repository, then each parent namespace, ending with ``host[:port]``.
3. ``*.`` wildcards of the host without its port, dropping one label at a time
   (``*.another.example.com``, ``*.example.com``, ``*.com``); ``*.example.com`` thus never
   matches ``example.com`` itself, and a host without a dot (``localhost``) has none.
4. The transport's ``""`` scope, then ``default`` (added by the caller).

Two cases upstream never sees, because its docker transport refuses or completes them: a
name-only reference is looked up as ``:latest`` (what the docker transport pulls), and a
reference with both a tag and a digest as ``repository@digest`` (the digest is what is
pulled; the tag is informative, as in ``ParseDockerRef``).
"""

from __future__ import annotations

from sigpolicy.reference._grammar import NAMESPACE_RE, WILDCARD_RE
from sigpolicy.reference.docker import (
    LEGACY_DEFAULT_DOMAIN,
    NAME_TOTAL_LENGTH_MAX,
    Reference,
    try_parse_reference,
)

_DEFAULT_TAG = "latest"


def policy_scopes(ref: Reference) -> list[str]:
    """The scope candidates for ``ref``, most specific first (steps 1-3 of this module)."""
    repository = ref.repository
    # 1.
    if ref.digest is not None:
        scopes = [f"{repository}@{ref.digest}"]
    else:
        scopes = [f"{repository}:{ref.tag if ref.tag is not None else _DEFAULT_TAG}"]
    # 2.
    name = repository
    while True:
        scopes.append(name)
        slash = name.rfind("/")
        if slash < 0:
            break
        name = name[:slash]
    # 3. Upstream cuts at the first ":", which leaves nothing with a dot for an IPv6 host.
    host = name.partition(":")[0]
    dot = host.find(".")
    while dot >= 0:
        host = host[dot + 1 :]
        scopes.append("*." + host)
        dot = host.find(".")
    return scopes


def is_valid_scope(scope: str) -> bool:
    """Whether ``scope`` can ever be selected by :func:`policy_scopes` (or is ``""``).

    containers/image's ``ValidatePolicyConfigurationScope`` for the docker transport accepts
    every string ("an invalid value ... can only cause user confusion"). To keep loading the
    policies it loads, callers should only warn on ``False``. A scope that can match is:
    a full reference in normalized form with exactly one of tag or digest; a ``host[:port]``
    optionally followed by a path (a repository or a namespace); or a ``*.`` wildcard of a
    host name without port.
    """
    if scope == "" or WILDCARD_RE.fullmatch(scope):
        return True
    if NAMESPACE_RE.fullmatch(scope):
        # Normalization only ever yields hosts like these (index.docker.io becomes docker.io).
        host = scope.partition("/")[0]
        return (
            len(scope) <= NAME_TOTAL_LENGTH_MAX
            and ("." in host or ":" in host or host == "localhost")
            and host != LEGACY_DEFAULT_DOMAIN
        )
    parsed = try_parse_reference(scope)
    return (
        parsed is not None
        and str(parsed) == scope
        and (parsed.tag is None) != (parsed.digest is None)
    )
