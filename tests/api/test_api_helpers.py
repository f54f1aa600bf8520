"""Lookups and time helpers the rest of the project relies on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sigpolicy.api import (
    ConditionStatus,
    Image,
    ImageSignature,
    ImageStream,
    SignatureConditionType,
    format_timestamp,
    parse_object,
    parse_timestamp,
    split_signature_name,
)

Load = Callable[[str], dict[str, Any]]

DIGEST = "sha256:b29814cf5792e684cd75d6a7fce7a67a11887e312f87ca2ac2496d81f365ff72"


def signed_image(load: Load) -> Image:
    image = parse_object(load("image-signed.yaml"))
    assert isinstance(image, Image)
    return image


def stream(load: Load) -> ImageStream:
    parsed = parse_object(load("imagestream.yaml"))
    assert isinstance(parsed, ImageStream)
    return parsed


def test_signature_named(load: Load) -> None:
    image = signed_image(load)
    sig = image.signature_named(f"{DIGEST}@97d324e84e4460779364eef99fe0bb8e")
    assert sig is not None and sig.type == "atomic"
    assert image.signature_named(f"{DIGEST}@nope") is None
    assert Image().signature_named("x") is None


def test_condition_lookup(load: Load) -> None:
    sig = signed_image(load).signature_named(
        f"{DIGEST}@62f8ab15ff0edac2a8d2475292a9356b4c9dccc4ada01544fa439b77ec060322"
    )
    assert sig is not None
    trusted = sig.condition(SignatureConditionType.TRUSTED)
    assert trusted is not None
    assert trusted.status == ConditionStatus.FALSE
    assert trusted.reason == "unknown-key"
    assert sig.condition(SignatureConditionType.EXPIRED) is None


CONDITION_CASES = [
    (
        "latest-probe-wins",
        [("True", "2024-01-01T00:00:00Z"), ("False", "2024-01-02T00:00:00Z")],
        "False",
    ),
    (
        "earlier-later-in-list-loses",
        [("False", "2024-01-02T00:00:00Z"), ("True", "2024-01-01T00:00:00Z")],
        "False",
    ),
    (
        "tie-goes-to-later",
        [("True", "2024-01-01T00:00:00Z"), ("False", "2024-01-01T00:00:00Z")],
        "False",
    ),
    ("unset-time-is-earliest", [("True", "2024-01-01T00:00:00Z"), ("False", None)], "True"),
]


@pytest.mark.parametrize(
    ("conditions", "status"),
    [case[1:] for case in CONDITION_CASES],
    ids=[case[0] for case in CONDITION_CASES],
)
def test_condition_picks_what_openshift_considers_current(
    conditions: list[tuple[str, str | None]], status: str
) -> None:
    sig = ImageSignature.model_validate(
        {
            "type": "atomic",
            "content": "",
            "conditions": [
                {"type": "Trusted", "status": s, "lastProbeTime": t} for s, t in conditions
            ],
        }
    )
    found = sig.condition("Trusted")
    assert found is not None and found.status == status


def test_spec_and_status_tags(load: Load) -> None:
    image_stream = stream(load)
    spec = image_stream.spec_tag("v1.2")
    assert spec is not None and spec.from_ is not None
    assert spec.from_.kind == "DockerImage"
    assert spec.reference_policy is not None and spec.reference_policy.type == "Local"
    assert image_stream.spec_tag("nope") is None
    history = image_stream.status_tag("latest")
    assert history is not None and history.items is not None and len(history.items) == 2
    newest = image_stream.newest_event("latest")
    assert newest is not None and newest.image == DIGEST and newest.generation == 3
    assert newest.created_at == datetime(2024, 3, 1, 10, 5, 12, tzinfo=UTC)
    # A tag whose import failed has conditions but no history.
    assert image_stream.status_tag("v1.3") is not None
    assert image_stream.newest_event("v1.3") is None
    assert image_stream.newest_event("nope") is None
    assert ImageStream().spec_tag("x") is None and ImageStream().status_tag("x") is None


def test_names(load: Load) -> None:
    image_stream = stream(load)
    assert (image_stream.name, image_stream.namespace) == ("app", "shop")
    assert ImageStream().name is None
    sig = signed_image(load).signatures
    assert sig is not None
    assert sig[0].name_parts == (DIGEST, "97d324e84e4460779364eef99fe0bb8e")


SPLIT_CASES = [
    (
        "podman",
        f"{DIGEST}@97d324e84e4460779364eef99fe0bb8e",
        (DIGEST, "97d324e84e4460779364eef99fe0bb8e"),
    ),
    ("no-at", DIGEST, None),
    ("two-ats", "a@b@c", None),
    ("empty-image", "@b", None),
    ("empty-signature", "a@", None),
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [case[1:] for case in SPLIT_CASES],
    ids=[case[0] for case in SPLIT_CASES],
)
def test_split_signature_name(name: str, expected: tuple[str, str] | None) -> None:
    assert split_signature_name(name) == expected


PARSE_CASES = [
    ("utc", "2024-03-01T10:05:12Z", datetime(2024, 3, 1, 10, 5, 12, tzinfo=UTC)),
    ("lowercase", "2024-03-01t10:05:12z", datetime(2024, 3, 1, 10, 5, 12, tzinfo=UTC)),
    ("offset", "2024-03-01T12:05:12+02:00", datetime(2024, 3, 1, 10, 5, 12, tzinfo=UTC)),
    (
        "nanoseconds",
        "2024-03-01T10:05:12.123456789Z",
        datetime(2024, 3, 1, 10, 5, 12, 123456, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in PARSE_CASES],
    ids=[case[0] for case in PARSE_CASES],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2024-03-01", "2024-03-01 10:05:12Z", "2024-03-01T10:05:12", "2024-02-30T00:00:00Z", ""],
    ids=["date-only", "space", "naive", "no-such-day", "empty"],
)
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not an RFC 3339 timestamp"):
        parse_timestamp(text)


def test_format_timestamp() -> None:
    moment = datetime(2024, 3, 1, 12, 5, 12, 999, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2024-03-01T10:05:12Z"
    with pytest.raises(ValueError, match="timezone"):
        format_timestamp(datetime(2024, 3, 1))
