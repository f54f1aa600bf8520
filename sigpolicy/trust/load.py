"""Reading a trust file and the key material it names (the IO boundary of layer 4).

Steps, for :func:`load_trust_store` and :func:`aload_trust_store` alike:

1. Read the trust file (bounded) and parse it as one YAML document, refusing duplicate keys.
2. Validate it against :mod:`sigpolicy.trust.schema` (unknown fields refused).
3. Read each key item's material: ``file`` relative to the trust file's folder, ``data``
   as given, ``secretKeyRef``/``configMapKeyRef`` through a cluster source (async only; the
   sync loader refuses them with a clear error).
4. Build the :class:`~sigpolicy.trust.store.TrustStore` (pins, one entry per key, unique
   names).

Configuration problems raise PolicyError ``<file>: <where>: <why>``; a cluster source that
cannot be reached raises its SourceError, prefixed with the item it was fetching for.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sigpolicy.errors import InputError, PolicyError, SourceError
from sigpolicy.signature.openpgp.limits import MAX_KEYFILE_BYTES
from sigpolicy.trust.document import location, parse_trust_document
from sigpolicy.trust.schema import KeyReference, TrustKeySpec, TrustStoreSpec
from sigpolicy.trust.store import EntryMaterial, KeyMaterial, TrustStore
from sigpolicy.yamlfile import load_one

# Inline keys make trust files larger than most configuration; still, a bound.
MAX_TRUST_FILE_BYTES = 16 * 1024 * 1024
CLUSTER_SOURCE_HINT = "--kubeconfig or --in-cluster"

_ItemIndex = tuple[int, int]


class KeyMaterialReader(Protocol):
    """Where ``secretKeyRef``/``configMapKeyRef`` material comes from.

    :class:`sigpolicy.sources.base.ImageSource` implements it; the trust layer names only
    these two methods so that it does not depend on the (higher) sources layer.
    """

    async def read_secret_key(self, namespace: str, name: str, key: str) -> bytes: ...

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class TrustInputs:
    """What one load read: the entries with their key bytes, and a digest of all input.

    ``digest`` covers the trust file's bytes and every key item's bytes: equal digests mean
    nothing was changed, so a watcher need not rebuild the store.
    """

    origin: str
    entries: tuple[EntryMaterial, ...]
    digest: str

    def build(self) -> TrustStore:
        return TrustStore.build(self.entries, origin=self.origin)


def load_trust_store(path: str | Path) -> TrustStore:
    """Load a trust file whose keys are files or inline data; raises PolicyError."""
    return read_trust_inputs(path).build()


async def aload_trust_store(path: str | Path, key_source: KeyMaterialReader | None) -> TrustStore:
    """Load a trust file, fetching Secret and ConfigMap keys through ``key_source``."""
    return (await aread_trust_inputs(path, key_source)).build()


def read_trust_inputs(path: str | Path) -> TrustInputs:
    """Steps 1-3 without a cluster: a Secret or ConfigMap reference is a PolicyError."""
    path = Path(path)
    raw, spec = _read_document(path)
    for index, field, _ in _references(spec):
        raise PolicyError(
            f"{path}: {_where(index)}: {field} needs a cluster source ({CLUSTER_SOURCE_HINT})"
        )
    return _inputs(path, raw, spec, {})


async def aread_trust_inputs(path: str | Path, key_source: KeyMaterialReader | None) -> TrustInputs:
    """Steps 1-3, with cluster references fetched through ``key_source``."""
    path = Path(path)
    # Local files are read in a worker thread: the event loop serves admission requests.
    raw, spec = await asyncio.to_thread(_read_document, path)
    fetched: dict[_ItemIndex, bytes] = {}
    for index, field, ref in _references(spec):
        if key_source is None:
            raise PolicyError(
                f"{path}: {_where(index)}: {field} needs a cluster source ({CLUSTER_SOURCE_HINT})"
            )
        fetched[index] = await _fetch(key_source, field, ref, f"{path}: {_where(index)}.{field}")
    return await asyncio.to_thread(_inputs, path, raw, spec, fetched)


def _read_document(path: Path) -> tuple[bytes, TrustStoreSpec]:
    raw = _read_bounded(path, MAX_TRUST_FILE_BYTES, "")
    try:
        document = load_one(raw.decode("utf-8"), where=str(path))
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    except InputError as exc:
        raise PolicyError(str(exc)) from None
    return raw, parse_trust_document(document, origin=str(path))


def _references(spec: TrustStoreSpec) -> list[tuple[_ItemIndex, str, KeyReference]]:
    found: list[tuple[_ItemIndex, str, KeyReference]] = []
    for i, entry in enumerate(spec.entries):
        for j, key in enumerate(entry.keys):
            if key.secret_key_ref is not None:
                found.append(((i, j), "secretKeyRef", key.secret_key_ref))
            elif key.config_map_key_ref is not None:
                found.append(((i, j), "configMapKeyRef", key.config_map_key_ref))
    return found


async def _fetch(reader: KeyMaterialReader, field: str, ref: KeyReference, where: str) -> bytes:
    read = reader.read_secret_key if field == "secretKeyRef" else reader.read_config_map_key
    try:
        data = await read(ref.namespace, ref.name, ref.key)
    except SourceError as exc:
        # Same class (a fetch failure is not a configuration error), located message.
        raise type(exc)(f"{where}: {_label(ref)}: {exc}") from exc
    if len(data) > MAX_KEYFILE_BYTES:
        raise PolicyError(f"{where}: {_label(ref)}: larger than {MAX_KEYFILE_BYTES} bytes")
    return data


def _inputs(
    path: Path, raw: bytes, spec: TrustStoreSpec, fetched: Mapping[_ItemIndex, bytes]
) -> TrustInputs:
    digest = hashlib.sha256()
    digest.update(len(raw).to_bytes(8, "big") + raw)
    entries: list[EntryMaterial] = []
    for i, entry in enumerate(spec.entries):
        keys: list[KeyMaterial] = []
        for j, key in enumerate(entry.keys):
            material = _material(path, (i, j), key, fetched)
            digest.update(len(material.data).to_bytes(8, "big") + material.data)
            keys.append(material)
        entries.append(
            EntryMaterial(
                name=entry.name,
                issuer=None if entry.issuer is None else entry.issuer.to_identity(),
                subject=None if entry.subject is None else entry.subject.to_identity(),
                keys=tuple(keys),
                where=location(("entries", i)),
            )
        )
    return TrustInputs(str(path), tuple(entries), digest.hexdigest())


def _material(
    path: Path, index: _ItemIndex, key: TrustKeySpec, fetched: Mapping[_ItemIndex, bytes]
) -> KeyMaterial:
    where = _where(index)
    pin = key.public_key_id
    if key.file is not None:
        file = path.parent / key.file
        data = _read_bounded(file, MAX_KEYFILE_BYTES, f"{path}: {where}.file: ")
        return KeyMaterial(where, "file", str(file), data, pin)
    if key.data is not None:
        return KeyMaterial(where, "data", None, key.data.encode(), pin)
    if key.secret_key_ref is not None:
        return KeyMaterial(where, "secretKeyRef", _label(key.secret_key_ref), fetched[index], pin)
    if key.config_map_key_ref is not None:
        ref = key.config_map_key_ref
        return KeyMaterial(where, "configMapKeyRef", _label(ref), fetched[index], pin)
    # Unreachable: the schema requires exactly one source.
    raise PolicyError(f"{path}: {where}: no key material")


def _read_bounded(path: Path, limit: int, prefix: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise PolicyError(f"{prefix}{path}: no such file") from None
    except IsADirectoryError:
        raise PolicyError(f"{prefix}{path}: is a directory") from None
    except OSError as exc:
        raise PolicyError(f"{prefix}{path}: cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise PolicyError(f"{prefix}{path}: larger than {limit} bytes")
    return data


def _where(index: _ItemIndex) -> str:
    return location(("entries", index[0], "keys", index[1]))


def _label(ref: KeyReference) -> str:
    return f"{ref.namespace}/{ref.name}[{ref.key}]"
