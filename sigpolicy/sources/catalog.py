"""A catalog folder of image API objects: the embedded default source (ARCHITECTURE.md).

The folder holds YAML or JSON files of objects as ``oc get -o yaml`` prints them (Image with
``signatures``, ImageStream with ``status.tags``, ImageStreamTag, Secret, ConfigMap), one
object per document or ``kind: List``. Everything that runs against a cluster runs against a
catalog.

Writing back mirrors the cluster's optimistic concurrency: an update re-reads the file,
applies the change to the newest copy, and replaces only that object's YAML document (other
documents keep every byte, comments included; an object inside a ``List`` document rewrites
that document). The new file is written beside the old one and renamed over it, so a reader
never sees half a file.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigpolicy.api import (
    Image,
    ImageStream,
    ImageStreamTag,
    Secret,
    parse_object,
)
from sigpolicy.errors import InputError, NotFoundError, SourceError
from sigpolicy.sources.base import ImageChange, ImageEvent
from sigpolicy.sources.streams import image_stream_tag, newest_image_name, registry_hosts_of
from sigpolicy.yamlfile import Document, load_documents, load_json_strict, replace_documents

SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Location:
    path: Path
    document: int
    item: int | None


@dataclass
class _Index:
    images: dict[str, tuple[Image, Location]] = field(default_factory=dict)
    streams: dict[tuple[str, str], ImageStream] = field(default_factory=dict)
    tags: dict[tuple[str, str], ImageStreamTag] = field(default_factory=dict)
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    config_maps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    service_accounts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    fingerprint: dict[Path, str] = field(default_factory=dict)
    documents: dict[Path, list[Document]] = field(default_factory=dict)
    hosts: frozenset[str] | None = None


class CatalogSource:
    """An :class:`~sigpolicy.sources.base.ImageSource` over a folder of files."""

    def __init__(self, root: Path, *, poll_interval: float = 2.0) -> None:
        self.root = root
        self.poll_interval = poll_interval
        self._lock = asyncio.Lock()
        self._index = self._load()

    @property
    def description(self) -> str:
        return f"catalog {self.root}"

    # --- reading ----------------------------------------------------------------------

    def _files(self) -> list[Path]:
        if not self.root.is_dir():
            raise InputError(f"catalog {self.root}: not a folder")
        return sorted(p for p in self.root.rglob("*") if p.suffix in SUFFIXES and p.is_file())

    def _load(self) -> _Index:
        index = _Index()
        for path in self._files():
            text = _read_text(path)
            index.fingerprint[path] = _digest(text)
            index.documents[path] = _documents(path, text)
            for doc_no, document in enumerate(index.documents[path]):
                for item_no, obj in _objects(document.data):
                    self._add(index, obj, Location(path, doc_no, item_no), path)
        return index

    def _add(self, index: _Index, obj: dict[str, Any], location: Location, path: Path) -> None:
        kind = obj.get("kind")
        where = f"{path}: {kind} {_name(obj)!r}"
        if kind in ("Image", "ImageStream", "ImageStreamTag", "Secret"):
            try:
                parsed = parse_object(obj)
            except InputError as exc:
                raise InputError(f"{path}: {exc}") from None
            if isinstance(parsed, Image):
                name = _require_name(parsed.metadata.name if parsed.metadata else None, where)
                if name in index.images:
                    raise InputError(
                        f"{where}: defined twice (also in {index.images[name][1].path})"
                    )
                index.images[name] = (parsed, location)
            elif isinstance(parsed, ImageStream):
                index.streams[_namespaced(obj, where)] = parsed
            elif isinstance(parsed, ImageStreamTag):
                index.tags[_namespaced(obj, where)] = parsed
            elif isinstance(parsed, Secret):
                index.secrets[_namespaced(obj, where)] = obj
        elif kind == "ConfigMap":
            index.config_maps[_namespaced(obj, where)] = obj
        elif kind == "ServiceAccount":
            index.service_accounts[_namespaced(obj, where)] = obj
        elif kind == "Namespace":
            namespace = (obj.get("metadata") or {}).get("name")
            index.namespaces[_require_name(namespace, where)] = _labels(obj, where)

    def refresh(self) -> bool:
        """Re-read the folder if any file changed; True when it did."""
        current = {p: _digest(_read_text(p)) for p in self._files()}
        if current == self._index.fingerprint:
            return False
        self._index = self._load()
        return True

    def objects(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Every object of the folder as read, of any kind, with its file (for readers of
        kinds this source does not serve itself, such as workloads)."""
        for path, documents in self._index.documents.items():
            for document in documents:
                for _, obj in _objects(document.data):
                    yield path, obj

    async def get_image(self, name: str) -> Image:
        found = self._index.images.get(name)
        if found is None:
            raise NotFoundError(f"{self.description}: Image {name!r} not found")
        return found[0]

    async def list_images(self) -> list[Image]:
        return [image for image, _ in self._index.images.values()]

    async def list_image_streams(self) -> list[ImageStream]:
        return list(self._index.streams.values())

    def registry_hosts(self) -> frozenset[str]:
        """The integrated registry's hosts, as the catalog's streams name them."""
        index = self._index
        if index.hosts is None:
            index.hosts = frozenset(
                host for stream in index.streams.values() for host in registry_hosts_of(stream)
            )
        return index.hosts

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        """The labels of a ``kind: Namespace`` document; None if the catalog has none."""
        return self._index.namespaces.get(name)

    async def get_image_stream(self, namespace: str, name: str) -> ImageStream:
        stream = self._index.streams.get((namespace, name))
        if stream is None:
            raise NotFoundError(f"{self.description}: ImageStream {namespace}/{name} not found")
        return stream

    async def get_image_stream_tag(self, namespace: str, name: str) -> ImageStreamTag:
        explicit = self._index.tags.get((namespace, name))
        if explicit is not None:
            return explicit
        stream_name, _, tag = name.partition(":")
        stream = await self.get_image_stream(namespace, stream_name)
        image_name, _ = newest_image_name(stream, tag or "latest")
        return image_stream_tag(stream, tag or "latest", await self.get_image(image_name))

    async def read_secret_key(self, namespace: str, name: str, key: str) -> bytes:
        secret = self._index.secrets.get((namespace, name))
        if secret is None:
            raise NotFoundError(f"{self.description}: Secret {namespace}/{name} not found")
        if key in (secret.get("stringData") or {}):
            return str(secret["stringData"][key]).encode()
        data = secret.get("data") or {}
        if key not in data:
            raise NotFoundError(f"{self.description}: Secret {namespace}/{name} has no key {key!r}")
        try:
            return base64.b64decode(data[key], validate=True)
        except (ValueError, TypeError):
            raise InputError(
                f"{self.description}: Secret {namespace}/{name} key {key!r} is not base64"
            ) from None

    async def read_secret(self, namespace: str, name: str) -> tuple[str | None, dict[str, bytes]]:
        """A Secret document's type and data (``data`` decoded, ``stringData`` as UTF-8)."""
        secret = self._index.secrets.get((namespace, name))
        if secret is None:
            raise NotFoundError(f"{self.description}: Secret {namespace}/{name} not found")
        keys = [*(secret.get("data") or {}), *(secret.get("stringData") or {})]
        data = {key: await self.read_secret_key(namespace, name, key) for key in keys}
        kind = secret.get("type")
        return (str(kind) if kind is not None else None), data

    async def service_account_pull_secrets(self, namespace: str, name: str) -> tuple[str, ...]:
        account = self._index.service_accounts.get((namespace, name))
        if account is None:
            raise NotFoundError(f"{self.description}: ServiceAccount {namespace}/{name} not found")
        refs = account.get("imagePullSecrets") or []
        return tuple(str(ref["name"]) for ref in refs if isinstance(ref, dict) and ref.get("name"))

    async def read_config_map_key(self, namespace: str, name: str, key: str) -> bytes:
        config_map = self._index.config_maps.get((namespace, name))
        if config_map is None:
            raise NotFoundError(f"{self.description}: ConfigMap {namespace}/{name} not found")
        if key in (config_map.get("data") or {}):
            return str(config_map["data"][key]).encode()
        if key in (config_map.get("binaryData") or {}):
            return base64.b64decode(config_map["binaryData"][key])
        raise NotFoundError(f"{self.description}: ConfigMap {namespace}/{name} has no key {key!r}")

    async def watch_images(self) -> AsyncIterator[ImageEvent]:
        known = dict(self._index.images)
        for image, _ in known.values():
            yield ImageEvent("ADDED", image)
        yield ImageEvent("SYNCED", None)
        while True:
            await asyncio.sleep(self.poll_interval)
            async with self._lock:
                try:
                    changed = self.refresh()
                except InputError as exc:
                    # A half-edited file must not stop the watch; the old index stays.
                    raise SourceError(str(exc)) from None
            if not changed:
                continue
            current = dict(self._index.images)
            for name, (image, _) in current.items():
                if name not in known:
                    yield ImageEvent("ADDED", image)
                elif image != known[name][0]:
                    yield ImageEvent("MODIFIED", image)
            for name, (image, _) in known.items():
                if name not in current:
                    yield ImageEvent("DELETED", image)
            known = current

    # --- writing ----------------------------------------------------------------------

    async def update_image(self, name: str, change: ImageChange) -> Image | None:
        return (await self.update_images([name], change))[name]

    async def update_images(
        self, names: Sequence[str], change: ImageChange
    ) -> dict[str, Image | None]:
        """Apply ``change`` to each image and write every touched file once."""
        async with self._lock:
            self.refresh()  # the newest copies, as a resourceVersion check would ensure
            results: dict[str, Image | None] = {}
            edits: dict[Path, list[tuple[Location, Image]]] = {}
            for name in names:
                found = self._index.images.get(name)
                if found is None:
                    raise NotFoundError(f"{self.description}: Image {name!r} not found")
                image, location = found
                updated = change(image)
                results[name] = updated
                if updated is not None:
                    edits.setdefault(location.path, []).append((location, updated))
            for path, file_edits in edits.items():
                self._write(path, file_edits)
            return results

    def _write(self, path: Path, edits: list[tuple[Location, Image]]) -> None:
        """Write one file's edits and bring the index up to date without re-reading it."""
        text = _read_text(path)
        if _digest(text) != self._index.fingerprint.get(path):
            raise SourceError(f"{path}: changed while being updated; try again")
        documents = self._index.documents[path]
        changed: dict[int, Any] = {}
        for location, image in edits:
            current = changed.get(location.document, documents[location.document].data)
            changed[location.document] = _with_item(current, location.item, image.to_json_dict())
        if path.suffix == ".json":
            new_text = json.dumps(changed[0], indent=2) + "\n"
            moved = [Document(changed[0], 0, len(new_text), 1)]
        else:
            new_text, moved = replace_documents(text, documents, changed)
        _atomic_write(path, new_text)
        self._index.fingerprint[path] = _digest(new_text)
        self._index.documents[path] = moved
        for location, image in edits:
            self._index.images[
                _require_name(image.metadata.name if image.metadata else None, str(path))
            ] = (
                image,
                location,
            )

    async def close(self) -> None:
        return None


def _documents(path: Path, text: str) -> list[Document]:
    if path.suffix == ".json":
        data = load_json_strict(text, where=str(path))
        return [Document(data, 0, len(text), 1)]
    return load_documents(text, where=str(path))


def _objects(data: Any) -> list[tuple[int | None, dict[str, Any]]]:
    if (
        isinstance(data, dict)
        and str(data.get("kind", "")).endswith("List")
        and isinstance(data.get("items"), list)
    ):
        return [(i, item) for i, item in enumerate(data["items"]) if isinstance(item, dict)]
    if isinstance(data, dict):
        return [(None, data)]
    return []


def _with_item(data: Any, item: int | None, new_object: dict[str, Any]) -> Any:
    if item is None:
        return _in_original_order(data, new_object)
    items = list(data["items"])
    items[item] = _in_original_order(items[item], new_object)
    return {**data, "items": items}


def _in_original_order(original: Any, new: Any) -> Any:
    """``new`` with its keys in the order the file had them, so a diff shows only changes."""
    if isinstance(original, dict) and isinstance(new, dict):
        ordered = {k: _in_original_order(original[k], new[k]) for k in original if k in new}
        ordered.update((k, v) for k, v in new.items() if k not in ordered)
        return ordered
    if isinstance(original, list) and isinstance(new, list) and len(original) == len(new):
        return [_in_original_order(o, n) for o, n in zip(original, new, strict=True)]
    return new


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def _atomic_write(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name")) if isinstance(meta, dict) else "?"


def _require_name(name: str | None, where: str) -> str:
    if not name:
        raise InputError(f"{where}: metadata.name is missing")
    return name


def _namespaced(obj: dict[str, Any], where: str) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise InputError(f"{where}: metadata.name is missing")
    return str(meta.get("namespace") or "default"), str(name)


def _labels(obj: dict[str, Any], where: str) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise InputError(f"{where}: metadata.labels must map strings to strings")
    return dict(labels)
