"""Shared material for the trust store tests: corpus keys, signatures and trust files.

Keys come from the containers/image corpus (tests/conformance/corpus.py):
public-key.gpg (08CD26E4...) signed image.signature; public-key-with-subkey.gpg
(B9F4CDB9..., signing subkey 57D1D95B...) signed subkey.signature; pubring.gpg holds four
certificates.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from sigpolicy.errors import NotFoundError
from tests.conformance.corpus import CORPUS

# The corpus signatures were made in 2025 and its keys never expire.
NOW = 1_800_000_000

SKOPEO_FPR = "08CD26E446E2E95249B7A405E932F44B23E8DD43"
SKOPEO_KEY_ID = "0xe932f44b23e8dd43"
SKOPEO_UID = "skopeo testing key"
SECOND_FPR = "F2B501009F78B0B340221A12A3CD242DA6028093"
SUBKEY_PRIMARY_FPR = "B9F4CDB9FD8C475BFA340AC38D54A947EE396F36"
SUBKEY_FPR = "57D1D95BBC53BA0EAFF0718CD75B3109B3BAAEAF"
REVOKED_SUBKEY_PRIMARY_FPR = "6D88C5A1993648A17B2BB0DC6B8499AF63388D63"

KEY_FILES = (
    "public-key.gpg",
    "public-key-1.gpg",
    "public-key-2.gpg",
    "public-key-with-subkey.gpg",
    "pubring.gpg",
)

HEADER = "apiVersion: sigpolicy.io/v1alpha1\nkind: TrustStore\n"


def corpus_bytes(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def one_entry(keys: str, *, name: str = "r") -> str:
    """A trust file body with one entry holding the flow-style key items ``keys``."""
    return f"entries: [{{name: {name}, keys: [{keys}]}}]\n"


def write_trust(folder: Path, body: str, *, header: bool = True) -> Path:
    """Write ``trust.yaml`` (the header prepended) next to copies of the corpus keys."""
    keys = folder / "keys"
    keys.mkdir(exist_ok=True)
    for name in KEY_FILES:
        target = keys / name
        if not target.exists():
            target.write_bytes(corpus_bytes(name))
    (keys / "not-a-key.txt").write_text("hello\n")
    (keys / "a-folder").mkdir(exist_ok=True)
    path = folder / "trust.yaml"
    path.write_text((HEADER if header else "") + textwrap.dedent(body))
    return path


def armored(name: str, indent: int) -> str:
    """An armored corpus key as a YAML block scalar body, indented by ``indent`` spaces."""
    pad = " " * indent
    return "\n".join(pad + line for line in corpus_bytes(name).decode().splitlines())


@dataclass
class FakeKeySource:
    """A cluster source with only the two key-reading methods the trust store uses."""

    secrets: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    config_maps: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    reads: int = 0

    async def read_secret_key(self, namespace: str, name: str, key: str) -> bytes:
        return self._read(self.secrets, "Secret", namespace, name, key)

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> bytes:
        return self._read(self.config_maps, "ConfigMap", namespace, name, key)

    def _read(
        self, data: dict[tuple[str, str, str], bytes], kind: str, ns: str, name: str, key: str
    ) -> bytes:
        self.reads += 1
        try:
            return data[ns, name, key]
        except KeyError:
            raise NotFoundError(f"{kind} {ns}/{name} has no key {key}") from None
