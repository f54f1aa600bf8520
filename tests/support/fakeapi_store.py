"""The in-memory state behind the fake API server (:mod:`tests.support.fakeapi`).

It behaves like etcd behind a kube-apiserver, as far as sigpolicy's client can tell:

- one global, monotonically increasing ``resourceVersion``; every write takes the next one and
  records a watch event (ADDED, MODIFIED, DELETED) with the object as written;
- a write that names a ``resourceVersion`` other than the stored one is a 409 Conflict;
- :meth:`FakeStore.compact` forgets the event history, so a watch that starts from an older
  version gets 410 Gone ("too old resource version"), as after etcd compaction.

It also knows the image API's derived views (ImageStreamTag, ImageStreamImage) and the
ImageSignature subresource-like endpoints, built the way openshift-apiserver builds them
(see ``/work/shared/design/notes/openshift-upstream.md`` §1).

Objects are plain JSON dicts; every read returns a deep copy, so neither a test nor the
server can change stored state except through a write.
"""

from __future__ import annotations

import copy
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]

IMAGE_GROUP = "image.openshift.io"
IMAGE_API_VERSION = "image.openshift.io/v1"


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """What the server knows about one resource (plural) it serves."""

    group: str
    version: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def qualified(self, plural: str) -> str:
        """``images.image.openshift.io`` or ``secrets``, as in the apiserver's messages."""
        return f"{plural}.{self.group}" if self.group else plural


RESOURCES: dict[str, ResourceInfo] = {
    "images": ResourceInfo(IMAGE_GROUP, "v1", "Image", namespaced=False),
    "imagestreams": ResourceInfo(IMAGE_GROUP, "v1", "ImageStream", namespaced=True),
    "secrets": ResourceInfo("", "v1", "Secret", namespaced=True),
    "serviceaccounts": ResourceInfo("", "v1", "ServiceAccount", namespaced=True),
    "configmaps": ResourceInfo("", "v1", "ConfigMap", namespaced=True),
    "namespaces": ResourceInfo("", "v1", "Namespace", namespaced=False),
    "leases": ResourceInfo("coordination.k8s.io", "v1", "Lease", namespaced=True),
    # Workloads, for the audit, and the policy reports it writes.
    "pods": ResourceInfo("", "v1", "Pod", namespaced=True),
    "replicationcontrollers": ResourceInfo("", "v1", "ReplicationController", namespaced=True),
    "deployments": ResourceInfo("apps", "v1", "Deployment", namespaced=True),
    "replicasets": ResourceInfo("apps", "v1", "ReplicaSet", namespaced=True),
    "statefulsets": ResourceInfo("apps", "v1", "StatefulSet", namespaced=True),
    "daemonsets": ResourceInfo("apps", "v1", "DaemonSet", namespaced=True),
    "jobs": ResourceInfo("batch", "v1", "Job", namespaced=True),
    "cronjobs": ResourceInfo("batch", "v1", "CronJob", namespaced=True),
    "deploymentconfigs": ResourceInfo(
        "apps.openshift.io", "v1", "DeploymentConfig", namespaced=True
    ),
    "policyreports": ResourceInfo("wgpolicyk8s.io", "v1alpha2", "PolicyReport", namespaced=True),
    "clusterpolicyreports": ResourceInfo(
        "wgpolicyk8s.io", "v1alpha2", "ClusterPolicyReport", namespaced=False
    ),
    # OpenShift's sigstore image policies, which serve --cluster-image-policies watches.
    "clusterimagepolicies": ResourceInfo(
        "config.openshift.io", "v1", "ClusterImagePolicy", namespaced=False
    ),
    "imagepolicies": ResourceInfo("config.openshift.io", "v1", "ImagePolicy", namespaced=True),
}
# API path prefix of every group the fake serves besides the image API and core.
WORKLOAD_PREFIXES = {
    "apps": "/apis/apps/v1",
    "batch": "/apis/batch/v1",
    "apps.openshift.io": "/apis/apps.openshift.io/v1",
    "wgpolicyk8s.io": "/apis/wgpolicyk8s.io/v1alpha2",
    "config.openshift.io": "/apis/config.openshift.io/v1",
}
PLURAL_OF_KIND = {info.kind: plural for plural, info in RESOURCES.items()}


class ApiStatusError(Exception):
    """A request the apiserver answers with a ``metav1.Status`` failure."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    def body(self) -> JsonObject:
        return status_body(self.code, self.reason, self.message)


def status_body(code: int, reason: str, message: str) -> JsonObject:
    """A ``metav1.Status`` failure as kube-apiserver writes it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def not_found(plural: str, name: str) -> ApiStatusError:
    qualified = RESOURCES[plural].qualified(plural) if plural in RESOURCES else plural
    return ApiStatusError(404, "NotFound", f'{qualified} "{name}" not found')


def now_timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One write, as a watch sees it."""

    resource_version: int
    plural: str
    namespace: str
    type: str
    object: JsonObject


Key = tuple[str, str, str]  # plural, namespace ("" when cluster-scoped), name


class FakeStore:
    """Objects by (plural, namespace, name), the global version and the event history.

    Thread-safe: the HTTP handler threads and the test's own thread share it. ``changed`` is
    notified on every write, so watch handlers wake up.
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()
        # etcd's revision is never 0 on a live cluster, and "0" means "any" to a watch.
        self._version = 100
        self._objects: dict[Key, JsonObject] = {}
        self._events: list[StoredEvent] = []
        # Watches from a version below this one get 410 Gone.
        self._oldest_watchable = self._version

    # -- versions and history ------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self.changed:
            return self._version

    def compact(self) -> None:
        """Forget the history: a watch from any version older than now gets 410 Gone."""
        with self.changed:
            self._events.clear()
            self._oldest_watchable = self._version

    def is_expired(self, version: int) -> bool:
        with self.changed:
            return version < self._oldest_watchable

    def events_after(self, plural: str, namespace: str | None, version: int) -> list[StoredEvent]:
        """Events of ``plural`` (in ``namespace``, or any when None) newer than ``version``."""
        with self.changed:
            return [
                event
                for event in self._events
                if event.resource_version > version
                and event.plural == plural
                and (namespace is None or event.namespace == namespace)
            ]

    # -- plain CRUD ------------------------------------------------------------------------

    def get(self, plural: str, name: str, namespace: str = "") -> JsonObject:
        """A copy of the stored object; :class:`ApiStatusError` 404 when there is none."""
        with self.changed:
            stored = self._objects.get((plural, namespace, name))
            if stored is None:
                raise not_found(plural, name)
            return copy.deepcopy(stored)

    def find(self, plural: str, name: str, namespace: str = "") -> JsonObject | None:
        with self.changed:
            stored = self._objects.get((plural, namespace, name))
            return None if stored is None else copy.deepcopy(stored)

    def list(self, plural: str, namespace: str | None = None) -> tuple[list[JsonObject], int]:
        """Copies of the objects (sorted by namespace and name, as etcd keys) and the version."""
        with self.changed:
            items = [
                copy.deepcopy(obj)
                for (kind, ns, _name), obj in sorted(self._objects.items())
                if kind == plural and (namespace is None or ns == namespace)
            ]
            return items, self._version

    def add(self, obj: JsonObject) -> JsonObject:
        """Preload or create ``obj`` (its kind says where); replaces an existing one silently.

        Fills what the apiserver fills on create (uid, creationTimestamp, resourceVersion) and
        returns the stored copy.
        """
        plural = PLURAL_OF_KIND.get(str(obj.get("kind")))
        if plural is None:
            raise ValueError(f"the fake API does not store kind {obj.get('kind')!r}")
        metadata = obj.get("metadata") or {}
        namespace = metadata.get("namespace", "") if RESOURCES[plural].namespaced else ""
        with self.changed:
            existing = self._objects.get((plural, namespace, metadata["name"]))
            return self._write(plural, obj, namespace, "MODIFIED" if existing else "ADDED")

    def create(self, plural: str, obj: JsonObject, namespace: str = "") -> JsonObject:
        """POST: 409 AlreadyExists when the name is taken."""
        _validate(plural, obj)
        name = (obj.get("metadata") or {}).get("name")
        if not isinstance(name, str) or not name:
            raise ApiStatusError(
                422,
                "Invalid",
                f"{RESOURCES[plural].kind} is invalid: metadata.name: Required value: name or "
                "generateName is required",
            )
        with self.changed:
            if (plural, namespace, name) in self._objects:
                raise ApiStatusError(
                    409,
                    "AlreadyExists",
                    f'{RESOURCES[plural].qualified(plural)} "{name}" already exists',
                )
            return self._write(plural, obj, namespace, "ADDED")

    def replace(self, plural: str, name: str, obj: JsonObject, namespace: str = "") -> JsonObject:
        """PUT: 404 when absent, 409 Conflict when ``metadata.resourceVersion`` is stale.

        A body without ``resourceVersion`` is an unconditional update, as Kubernetes allows
        for most kinds.
        """
        _validate(plural, obj)
        metadata = obj.get("metadata") or {}
        if metadata.get("name") != name:
            raise ApiStatusError(
                400,
                "BadRequest",
                f"the name of the object ({metadata.get('name')}) does not match the name on "
                f"the URL ({name})",
            )
        with self.changed:
            stored = self._objects.get((plural, namespace, name))
            if stored is None:
                raise not_found(plural, name)
            wanted = metadata.get("resourceVersion")
            if wanted and wanted != stored["metadata"]["resourceVersion"]:
                raise conflict(plural, name)
            kept = {
                key: stored["metadata"][key]
                for key in ("uid", "creationTimestamp")
                if key in stored["metadata"]
            }
            merged = copy.deepcopy(obj)
            merged["metadata"] = {**merged["metadata"], **kept}
            return self._write(plural, merged, namespace, "MODIFIED")

    def delete(self, plural: str, name: str, namespace: str = "") -> JsonObject:
        with self.changed:
            stored = self._objects.pop((plural, namespace, name), None)
            if stored is None:
                raise not_found(plural, name)
            self._version += 1
            stored["metadata"]["resourceVersion"] = str(self._version)
            self._record(plural, namespace, "DELETED", stored)
            return copy.deepcopy(stored)

    def mutate(
        self, plural: str, name: str, change: Callable[[JsonObject], None], namespace: str = ""
    ) -> JsonObject:
        """A concurrent writer: apply ``change`` to the stored object in place and write it."""
        with self.changed:
            obj = self.get(plural, name, namespace)
            change(obj)
            return self._write(plural, obj, namespace, "MODIFIED")

    def _write(self, plural: str, obj: JsonObject, namespace: str, event: str) -> JsonObject:
        info = RESOURCES[plural]
        stored = copy.deepcopy(obj)
        stored.setdefault("apiVersion", info.api_version)
        stored.setdefault("kind", info.kind)
        metadata = stored.setdefault("metadata", {})
        if info.namespaced:
            metadata["namespace"] = namespace
        metadata.setdefault("uid", str(uuid.uuid4()))
        metadata.setdefault("creationTimestamp", now_timestamp())
        self._version += 1
        metadata["resourceVersion"] = str(self._version)
        self._objects[(plural, namespace, metadata["name"])] = stored
        self._record(plural, namespace, event, stored)
        return copy.deepcopy(stored)

    def _record(self, plural: str, namespace: str, event: str, obj: JsonObject) -> None:
        self._events.append(
            StoredEvent(self._version, plural, namespace, event, copy.deepcopy(obj))
        )
        self.changed.notify_all()

    # -- ImageSignature (create and delete only, stored inside the Image) ------------------

    def create_signature(self, signature: JsonObject) -> JsonObject:
        """POST imagesignatures: add to the Image named by ``<image>@<signature>``.

        Like openshift-apiserver: the name must have exactly one ``@`` with both parts
        non-empty; conditions and the parsed fields are cleared; uid and creationTimestamp
        are set; a signature with the same name, or the same type and content, is 409
        AlreadyExists; the Image gets a new resourceVersion.
        """
        name = (signature.get("metadata") or {}).get("name", "")
        image_name = split_signature_name(name)
        if not signature.get("type") or not signature.get("content"):
            raise ApiStatusError(
                422,
                "Invalid",
                f'ImageSignature.image.openshift.io "{name}" is invalid: '
                "type and content are required",
            )
        created = copy.deepcopy(signature)
        for cleared in ("conditions", "imageIdentity", "signedClaims", "created"):
            created.pop(cleared, None)
        for cleared in ("issuedBy", "issuedTo"):
            created.pop(cleared, None)
        created.pop("apiVersion", None)
        created.pop("kind", None)
        meta = created.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_timestamp())
        with self.changed:
            image = self.get("images", image_name)
            for existing in image.get("signatures") or []:
                same_name = (existing.get("metadata") or {}).get("name") == name
                same_blob = (
                    existing.get("type") == created["type"]
                    and existing.get("content") == created["content"]
                )
                if same_name or same_blob:
                    raise ApiStatusError(
                        409,
                        "AlreadyExists",
                        f'imagesignatures.image.openshift.io "{name}" already exists',
                    )
            image["signatures"] = [*(image.get("signatures") or []), created]
            self._write("images", image, "", "MODIFIED")
        return {"kind": "ImageSignature", "apiVersion": IMAGE_API_VERSION, **created}

    def delete_signature(self, name: str) -> None:
        image_name = split_signature_name(name)
        with self.changed:
            image = self.get("images", image_name)
            kept = [
                sig
                for sig in image.get("signatures") or []
                if (sig.get("metadata") or {}).get("name") != name
            ]
            if len(kept) == len(image.get("signatures") or []):
                raise not_found("imagesignatures.image.openshift.io", name)
            image["signatures"] = kept
            self._write("images", image, "", "MODIFIED")

    # -- derived views of a stream ---------------------------------------------------------

    def image_stream_tag(self, namespace: str, name: str) -> JsonObject:
        """GET imagestreamtags/<stream>:<tag>, built as openshift-apiserver builds it.

        ``image`` is the Image of the tag's newest event with the spec tag's annotations
        merged into its annotations, ``dockerImageManifest`` and ``dockerImageConfig``
        blanked and ``dockerImageReference`` resolved by the tag's reference policy; ``tag``
        is the spec tag or null; ``lookupPolicy`` is the stream's.
        """
        stream_name, sep, tag = name.partition(":")
        if not sep or not stream_name or not tag or ":" in tag or "@" in name:
            raise ApiStatusError(
                400,
                "BadRequest",
                f'"{name}" is an invalid ImageStreamTag name: must be <stream>:<tag>',
            )
        with self.changed:
            stream = self.get("imagestreams", stream_name, namespace)
            history = _status_tag(stream, tag)
            items = (history or {}).get("items") or []
            if not items:
                raise not_found("imagestreamtags.image.openshift.io", name)
            event = items[0]
            image = self.get("images", event["image"])
        spec_tag = _spec_tag(stream, tag)
        annotations = (spec_tag or {}).get("annotations") or {}
        image_meta = image.setdefault("metadata", {})
        if annotations:
            image_meta["annotations"] = {**(image_meta.get("annotations") or {}), **annotations}
        image.pop("dockerImageManifest", None)
        image.pop("dockerImageConfig", None)
        image["dockerImageReference"] = _resolve_reference(stream, spec_tag, event)
        metadata: JsonObject = {
            "name": name,
            "namespace": namespace,
            "uid": stream["metadata"].get("uid"),
            "resourceVersion": stream["metadata"]["resourceVersion"],
            "creationTimestamp": event.get("created"),
        }
        if annotations:
            metadata["annotations"] = dict(annotations)
        result: JsonObject = {
            "kind": "ImageStreamTag",
            "apiVersion": IMAGE_API_VERSION,
            "metadata": metadata,
            "tag": spec_tag,
            "generation": event.get("generation", 0),
            "lookupPolicy": (stream.get("spec") or {}).get("lookupPolicy") or {"local": False},
            "image": image,
        }
        if history and history.get("conditions"):
            result["conditions"] = history["conditions"]
        return result

    def image_stream_image(self, namespace: str, name: str) -> JsonObject:
        """GET imagestreamimages/<stream>@<digest>: an Image the stream has seen.

        Matches on a digest prefix over every tag event's image and the sub-manifests of
        manifest lists (the last match wins), as upstream does; the manifest and config are
        blanked.
        """
        parts = name.split("@")
        if len(parts) != 2 or not all(parts):
            raise ApiStatusError(
                400,
                "BadRequest",
                f'"{name}" is an invalid ImageStreamImage name: must be <stream>@<digest>',
            )
        stream_name, digest = parts
        with self.changed:
            stream = self.get("imagestreams", stream_name, namespace)
            found: str | None = None
            for history in (stream.get("status") or {}).get("tags") or []:
                for event in history.get("items") or []:
                    image_name = event.get("image", "")
                    if image_name.startswith(digest):
                        found = image_name
                    listed = self.find("images", image_name) or {}
                    for manifest in listed.get("dockerImageManifests") or []:
                        if str(manifest.get("digest", "")).startswith(digest):
                            found = manifest["digest"]
            image = self.find("images", found) if found else None
            if image is None:
                raise not_found("imagestreamimages.image.openshift.io", name)
        image.pop("dockerImageManifest", None)
        image.pop("dockerImageConfig", None)
        return {
            "kind": "ImageStreamImage",
            "apiVersion": IMAGE_API_VERSION,
            "metadata": {
                "name": f"{stream_name}@{image['metadata']['name']}",
                "namespace": namespace,
                "uid": image["metadata"].get("uid"),
                "resourceVersion": image["metadata"].get("resourceVersion"),
                "creationTimestamp": image["metadata"].get("creationTimestamp"),
            },
            "image": image,
        }


def conflict(plural: str, name: str) -> ApiStatusError:
    qualified = RESOURCES[plural].qualified(plural)
    return ApiStatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
    )


_MICRO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)")


def _validate(plural: str, obj: JsonObject) -> None:
    """What the apiserver's decoder refuses: a Lease's MicroTime needs six fraction digits."""
    if plural != "leases":
        return
    for field in ("acquireTime", "renewTime"):
        value = (obj.get("spec") or {}).get(field)
        if value is not None and not (isinstance(value, str) and _MICRO_TIME.fullmatch(value)):
            raise ApiStatusError(
                400,
                "BadRequest",
                f'Lease in version "v1" cannot be handled as a Lease: parsing time {value!r} '
                'as "2006-01-02T15:04:05.000000Z07:00": cannot parse',
            )


def split_signature_name(name: str) -> str:
    """The Image name of ``<imageName>@<signatureName>``; 400 when the name is not that."""
    parts = name.split("@")
    if len(parts) != 2 or not all(parts):
        raise ApiStatusError(
            400, "BadRequest", "name must be of format <imageName>@<signatureName>"
        )
    return parts[0]


def _status_tag(stream: JsonObject, tag: str) -> JsonObject | None:
    for history in (stream.get("status") or {}).get("tags") or []:
        if history.get("tag") == tag:
            return dict(history)
    return None


def _spec_tag(stream: JsonObject, tag: str) -> JsonObject | None:
    for spec_tag in (stream.get("spec") or {}).get("tags") or []:
        if spec_tag.get("name") == tag:
            return dict(spec_tag)
    return None


def _resolve_reference(stream: JsonObject, spec_tag: JsonObject | None, event: JsonObject) -> str:
    """``ResolveReferenceForTagEvent``: Local policy points at the stream's own repository."""
    policy = ((spec_tag or {}).get("referencePolicy") or {}).get("type")
    repository = (stream.get("status") or {}).get("dockerImageRepository")
    if policy == "Local" and repository:
        return f"{repository}@{event['image']}"
    return str(event.get("dockerImageReference", ""))
