"""OpenShift's rules for ImageSignature objects (SEMANTICS.md §5), as functions.

They mirror ``validateImageSignature`` and ``validateImage`` of openshift-apiserver
(``pkg/image/apis/image/validation/validation.go``) so that an Image sigpolicy writes is one
the server accepts. Where a rule is stricter than upstream its docstring line says so: those
rules guard against upstream bugs or against states that no correct writer produces.

``validate_*`` return every problem as a message that starts with the JSON path (an empty
list means valid); ``require_valid_*`` raise :class:`InputError` with all of them.
"""

from __future__ import annotations

from collections.abc import Iterator

from sigpolicy.api.constants import ConditionStatus, SignatureConditionType
from sigpolicy.api.image import Image
from sigpolicy.api.signature import ImageSignature, split_signature_name
from sigpolicy.errors import InputError

_TRUSTED = SignatureConditionType.TRUSTED
_FOR_IMAGE = SignatureConditionType.FOR_IMAGE
# Where the pair must stand: upstream's condition scan dereferences a nil ForImage (or takes
# another type for it) when any other condition comes before ForImage.
_POSITION = {_TRUSTED: 0, _FOR_IMAGE: 1}
_STATUSES = frozenset(ConditionStatus)


def validate_image_signature(sig: ImageSignature, image_name: str | None = None) -> list[str]:
    """Every problem of ``sig`` under OpenShift's rules; an empty list when it is valid.

    1. ``metadata.name`` is ``<imageName>@<signatureName>``: exactly one ``@``, both parts
       non-empty.
    2. Stricter: when ``image_name`` is given, the image part equals it (upstream never
       compares the name with the parent Image).
    3. ``metadata.name`` is a path segment: not ``.`` or ``..``, no ``/`` or ``%``.
    4. ``metadata.namespace`` is empty: signatures are cluster-scoped.
    5. ``metadata.labels`` and ``metadata.annotations`` are not set.
    6. ``type`` and ``content`` are not empty (any non-empty type is accepted).
    7. Stricter: every condition status is ``True``, ``False`` or ``Unknown``.
    8. ``Trusted`` and ``ForImage`` conditions come as a pair.
    9. Stricter: ``Trusted`` is only ever ``conditions[0]`` and ``ForImage`` only
       ``conditions[1]``; upstream's validation mishandles other orders (it can take another
       condition for ForImage, or crash on a nil one).
    10. With no ``Trusted`` condition, or the current one ``Unknown``: ``imageIdentity``,
        ``signedClaims``, ``issuedBy`` and ``issuedTo`` are unset.
    11. Stricter: ``issuedTo.publicKeyID`` is not empty (upstream requires only the key).
    """
    return [
        *_name_format(sig),  # 1
        *_name_matches_image(sig, image_name),  # 2
        *_name_is_path_segment(sig),  # 3
        *_cluster_scoped(sig),  # 4
        *_no_labels_or_annotations(sig),  # 5
        *_type_and_content(sig),  # 6
        *_condition_statuses(sig),  # 7
        *_trusted_for_image_pair(sig),  # 8
        *_trusted_for_image_first(sig),  # 9
        *_unset_when_not_trusted(sig),  # 10
        *_subject_key_id(sig),  # 11
    ]


def require_valid_image_signature(sig: ImageSignature, image_name: str | None = None) -> None:
    """Raise :class:`InputError` listing every problem :func:`validate_image_signature` finds."""
    problems = validate_image_signature(sig, image_name)
    if problems:
        raise InputError(f"{_subject('ImageSignature', sig.name)}: {'; '.join(problems)}")


def validate_image(image: Image) -> list[str]:
    """Every problem of ``image`` and its signatures under OpenShift's rules.

    1. ``metadata.name`` is set.
    2. ``dockerImageReference`` is not empty (upstream requires it on every write).
    3. Each signature passes :func:`validate_image_signature`, with the Image's name as
       ``image_name`` (stricter, see rule 2 there); paths are prefixed ``signatures[i].``.
    4. Stricter: signature names are unique; they are the merge key of ``signatures``.
    """
    problems: list[str] = []
    if not image.name:  # 1
        problems.append("metadata.name: required")
    if not image.docker_image_reference:  # 2
        problems.append("dockerImageReference: required")
    first_index: dict[str, int] = {}
    for index, sig in enumerate(image.signatures or ()):
        problems += [f"signatures[{index}].{p}" for p in validate_image_signature(sig, image.name)]
        name = sig.name
        if name in first_index:  # 4
            first = first_index[name]
            problems.append(f"signatures[{index}].metadata.name: duplicate of signatures[{first}]")
        elif name:
            first_index[name] = index
    return problems


def require_valid_image(image: Image) -> None:
    """Raise :class:`InputError` listing every problem :func:`validate_image` finds."""
    problems = validate_image(image)
    if problems:
        raise InputError(f"{_subject('Image', image.name)}: {'; '.join(problems)}")


def _subject(kind: str, name: str | None) -> str:
    return f'{kind} "{name}"' if name else kind


def _name_format(sig: ImageSignature) -> Iterator[str]:
    if not sig.name:
        yield "metadata.name: required"
    elif split_signature_name(sig.name) is None:
        yield f"metadata.name: {sig.name!r} must be of format <imageName>@<signatureName>"


def _name_matches_image(sig: ImageSignature, image_name: str | None) -> Iterator[str]:
    parts = sig.name_parts
    if image_name is not None and parts is not None and parts[0] != image_name:
        yield f"metadata.name: image part {parts[0]!r} is not the image {image_name!r}"


def _name_is_path_segment(sig: ImageSignature) -> Iterator[str]:
    name = sig.name
    if name in (".", ".."):
        yield f"metadata.name: may not be {name!r}"
    elif name:
        for char in ("/", "%"):
            if char in name:
                yield f"metadata.name: may not contain {char!r}"


def _cluster_scoped(sig: ImageSignature) -> Iterator[str]:
    if sig.namespace:
        yield "metadata.namespace: not allowed, ImageSignature is cluster-scoped"


def _no_labels_or_annotations(sig: ImageSignature) -> Iterator[str]:
    if sig.metadata is not None and sig.metadata.labels:
        yield "metadata.labels: signature labels cannot be set"
    if sig.metadata is not None and sig.metadata.annotations:
        yield "metadata.annotations: signature annotations cannot be set"


def _type_and_content(sig: ImageSignature) -> Iterator[str]:
    if not sig.type:
        yield "type: required"
    if not sig.content:
        yield "content: required"


def _condition_statuses(sig: ImageSignature) -> Iterator[str]:
    for index, cond in enumerate(sig.conditions or ()):
        if cond.status not in _STATUSES:
            yield f"conditions[{index}].status: {cond.status!r} is not True, False or Unknown"


def _trusted_for_image_pair(sig: ImageSignature) -> Iterator[str]:
    types = {cond.type for cond in sig.conditions or ()}
    if _TRUSTED in types and _FOR_IMAGE not in types:
        yield f'conditions: missing "{_FOR_IMAGE}" condition type'
    elif _FOR_IMAGE in types and _TRUSTED not in types:
        yield f'conditions: missing "{_TRUSTED}" condition type'


def _trusted_for_image_first(sig: ImageSignature) -> Iterator[str]:
    for index, cond in enumerate(sig.conditions or ()):
        for cond_type, position in _POSITION.items():
            if cond.type == cond_type and index != position:
                yield (
                    f"conditions[{index}]: {cond_type} must be conditions[{position}]"
                    " (OpenShift's validation mishandles other orders)"
                )


def _unset_when_not_trusted(sig: ImageSignature) -> Iterator[str]:
    trusted = sig.condition(_TRUSTED)
    if trusted is not None and trusted.status != ConditionStatus.UNKNOWN:
        return
    message = "must be unset for unknown signature state"
    if sig.image_identity:
        yield f"imageIdentity: {message}"
    if sig.signed_claims:
        yield f"signedClaims: {message}"
    if sig.issued_by is not None:
        yield f"issuedBy: {message}"
    if sig.issued_to is not None:
        yield f"issuedTo: {message}"


def _subject_key_id(sig: ImageSignature) -> Iterator[str]:
    if sig.issued_to is not None and not sig.issued_to.public_key_id:
        yield "issuedTo.publicKeyID: required"
