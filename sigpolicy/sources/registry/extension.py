"""The registry signature extension API (``X-Registry-Supports-Signatures: 1``), as the
OpenShift integrated registry serves it and containers/image reads it.

1. A registry that announces the extension on its ``/v2/`` answers is asked
   ``GET /extensions/v2/<repo>/signatures/<digest>``, which returns
   ``{"signatures": [{"schemaVersion": 2, "name", "type", "content": base64}]}`` (the
   client fetches and decodes it; None means the registry does not announce it).
2. Only signatures of type ``atomic`` are kept (upstream ``appendSignaturesFromAPIExtension``
   takes schema version 2 and type ``atomic``, the only type containers/image writes); their
   content is a simple-signing blob as it is, without a lookaside envelope.
3. A signature's name comes from the registry: it is kept when it is short printable text
   (OpenShift's ``<digest>@<32 hex>``), else replaced by ``extension signature N``.
   It labels the signature in messages and is never trusted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from sigpolicy.reference.digest import Digest
from sigpolicy.reference.docker import Reference

if TYPE_CHECKING:
    from sigpolicy.sources.registry.auth import CredentialSet
    from sigpolicy.sources.registry.client import RegistryClient

__all__ = ["ATOMIC_TYPE", "read_extension"]

ATOMIC_TYPE: Final = "atomic"
_MAX_NAME: Final = 256


async def read_extension(
    client: RegistryClient,
    ref: Reference,
    digest: Digest,
    *,
    credentials: CredentialSet,
    deadline: float,
) -> list[tuple[str, bytes]] | None:
    """The ``atomic`` signatures the extension API holds for ``digest``; None if unsupported."""
    answer = await client.get_signatures_extension(
        ref.name_only(), digest, credentials=credentials, deadline=deadline
    )
    if answer is None:
        return None
    found: list[tuple[str, bytes]] = []
    for number, (name, kind, content) in enumerate(answer, start=1):
        if kind != ATOMIC_TYPE:  # 2
            continue
        found.append((_label(name, number), content))
    return found


def _label(name: str, number: int) -> str:
    """Rule 3."""
    if 0 < len(name) <= _MAX_NAME and name.isprintable():
        return name
    return f"extension signature {number}"
