"""load_trusted_root: a test-made trusted_root.json loads into the shared types, and every
broken one is refused with one line naming the file and the JSON path."""

from __future__ import annotations

import base64
import calendar
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from sigpolicy.errors import InputError
from sigpolicy.signature.sigstore_roots import ValidityWindow, log_id_of
from sigpolicy.signature.trusted_root import MAX_TRUSTED_ROOT, load_trusted_root
from tests.support.sigstore_bundle_kit import (
    TestCA,
    TestLog,
    b64,
    dumps,
    spki,
    trusted_root_json,
)

T0 = calendar.timegm((2024, 1, 1, 0, 0, 0, 0, 0, 0))
YEAR = 365 * 86_400


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA(T0, T0 + 10 * YEAR)


@pytest.fixture(scope="module")
def rootless_ca() -> TestCA:
    return TestCA(T0, T0 + 10 * YEAR, name="single", with_intermediate=False)


@pytest.fixture(scope="module")
def rekor() -> TestLog:
    return TestLog()


@pytest.fixture(scope="module")
def rekor_v2() -> TestLog:
    return TestLog("ed25519", "https://log2025-1.rekor.example.test")


@pytest.fixture(scope="module")
def ctlog() -> TestLog:
    return TestLog(base_url="https://ctfe.example.test/2024")


@pytest.fixture(scope="module")
def document(
    ca: TestCA, rootless_ca: TestCA, rekor: TestLog, rekor_v2: TestLog, ctlog: TestLog
) -> dict[str, Any]:
    return trusted_root_json(
        cas=[(rootless_ca, T0, T0 + YEAR), (ca, T0 + YEAR, None)],
        tlogs=[(rekor, T0, None), (rekor_v2, T0 + 2 * YEAR, None)],
        ctlogs=[(ctlog, T0, None)],
    )


def test_loads_every_part_into_the_shared_types(
    document: dict[str, Any], ca: TestCA, rootless_ca: TestCA, rekor: TestLog, rekor_v2: TestLog
) -> None:
    root = load_trusted_root(dumps(document), "trusted_root.json")
    assert [len(a.roots) for a in root.fulcio] == [1, 1]
    assert root.fulcio[0].roots[0] == rootless_ca.root
    assert root.fulcio[0].intermediates == ()
    assert root.fulcio[1].roots == (ca.root,)
    assert root.fulcio[1].intermediates == (ca.intermediate,)
    assert root.fulcio[0].window == ValidityWindow(T0, T0 + YEAR)
    assert root.fulcio[1].window == ValidityWindow(T0 + YEAR, None)
    assert "trusted_root.json $.certificateAuthorities[1]" in root.fulcio[1].origin
    assert [k.log_id for k in root.rekor] == [rekor.log_id, rekor_v2.log_id]
    # Rekor v1 names its log by the SPKI hash; the Ed25519 v2 log by its signed-note key ID.
    assert root.rekor[0].log_id == log_id_of(root.rekor[0].public_key)
    assert root.rekor[1].log_id != log_id_of(root.rekor[1].public_key)
    assert root.rekor[1].window == ValidityWindow(T0 + 2 * YEAR, None)
    assert len(root.ctlogs) == 1
    assert root.skipped == ()


# The members of the public-good trusted_root.json as the sigstore 4.5.1 wheel ships it
# (sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json, read when this
# loader was written; the file is not kept here): the kit must write the same layout.
PUBLIC_GOOD_SHAPE = {
    "$": {"mediaType", "tlogs", "certificateAuthorities", "ctlogs", "timestampAuthorities"},
    "$.tlogs[]": {"baseUrl", "hashAlgorithm", "publicKey", "logId"},
    "$.tlogs[].publicKey": {"rawBytes", "keyDetails", "validFor"},
    "$.tlogs[].logId": {"keyId"},
    "$.certificateAuthorities[]": {"subject", "uri", "certChain", "validFor"},
    "$.certificateAuthorities[].certChain": {"certificates"},
    "$.certificateAuthorities[].certChain.certificates[]": {"rawBytes"},
    "$.certificateAuthorities[].subject": {"organization", "commonName"},
    "$.ctlogs[]": {"baseUrl", "hashAlgorithm", "publicKey", "logId"},
}


def _shape(value: Any, path: str, out: dict[str, set[str]]) -> None:
    if isinstance(value, dict):
        out.setdefault(path, set()).update(value)
        for key, item in value.items():
            _shape(item, f"{path}.{key}", out)
    elif isinstance(value, list):
        for item in value:
            _shape(item, f"{path}[]", out)


def test_the_kit_writes_the_public_good_layout(document: dict[str, Any]) -> None:
    shape: dict[str, set[str]] = {}
    _shape(document, "$", shape)
    for path, expected in PUBLIC_GOOD_SHAPE.items():
        assert shape[path] == expected, path


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


def _other_key() -> str:
    return b64(spki(ec.generate_private_key(ec.SECP256R1()).public_key()))


def _reverse_chain(document: dict[str, Any]) -> None:
    document["certificateAuthorities"][1]["certChain"]["certificates"].reverse()


def _drop_root(document: dict[str, Any]) -> None:
    del document["certificateAuthorities"][1]["certChain"]["certificates"][1]


def _many_logs(document: dict[str, Any]) -> None:
    document["tlogs"] = document["tlogs"][:1] * 65


def _cert_of_other_ca(document: dict[str, Any]) -> None:
    other = TestCA(T0, T0 + YEAR, name="other")
    chain = document["certificateAuthorities"][1]["certChain"]["certificates"]
    chain[1] = {"rawBytes": b64(other.root.public_bytes(Encoding.DER))}


CA1 = ("certificateAuthorities", 1)
TLOG0 = ("tlogs", 0)
TLOG1 = ("tlogs", 1)

REFUSED: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "unknown-media-type",
        _set(("mediaType",), "application/json"),
        "$.mediaType",
        "not a trusted root media type",
    ),
    (
        "bundle-media-type",
        _set(("mediaType",), "application/vnd.dev.sigstore.bundle.v0.3+json"),
        "$.mediaType",
        "not a trusted root media type",
    ),
    ("no-media-type", _delete(("mediaType",)), "$:", "missing member 'mediaType'"),
    ("unknown-top-member", _set(("publicKeys",), []), "$:", "unknown member 'publicKeys'"),
    ("tlogs-not-array", _set(("tlogs",), {}), "$.tlogs:", "must be an array"),
    ("too-many-logs", _many_logs, "$.tlogs:", "more than the 64 allowed"),
    ("unknown-log-member", _set((*TLOG0, "url"), "x"), "$.tlogs[0]:", "unknown member 'url'"),
    (
        "merkle-hash-sha384",
        _set((*TLOG0, "hashAlgorithm"), "SHA2_384"),
        "$.tlogs[0].hashAlgorithm",
        "not supported",
    ),
    (
        "key-not-base64",
        _set((*TLOG0, "publicKey", "rawBytes"), "not base64!"),
        "$.tlogs[0].publicKey.rawBytes",
        "not valid base64",
    ),
    (
        "key-not-der",
        _set((*TLOG0, "publicKey", "rawBytes"), b64(b"\x30\x03abc")),
        "$.tlogs[0].publicKey.rawBytes",
        "not a DER public key",
    ),
    (
        "key-details-mismatch",
        _set((*TLOG1, "publicKey", "keyDetails"), "PKIX_ECDSA_P256_SHA_256"),
        "$.tlogs[1].publicKey.rawBytes",
        "is not the ECDSA secp256r1 key",
    ),
    (
        "key-details-curve-mismatch",
        _set((*TLOG0, "publicKey", "keyDetails"), "PKIX_ECDSA_P384_SHA_384"),
        "$.tlogs[0].publicKey.rawBytes",
        "is not the ECDSA secp384r1 key",
    ),
    (
        "key-details-unknown",
        _set((*TLOG0, "publicKey", "keyDetails"), "PKIX_FANCY"),
        "$.tlogs[0].publicKey.keyDetails",
        "not a known key type",
    ),
    (
        "log-id-of-another-key",
        _set((*TLOG0, "logId", "keyId"), _other_key()[:44]),
        "$.tlogs[0].logId.keyId",
        "does not identify the log's public key",
    ),
    (
        "log-id-swapped-with-other-log",
        lambda d: d["tlogs"][0]["logId"].update(d["tlogs"][1]["logId"]),
        "$.tlogs[0].logId.keyId",
        "does not identify",
    ),
    (
        "v2-log-id-with-another-origin",
        _set((*TLOG1, "baseUrl"), "https://log2025-2.rekor.example.test"),
        "$.tlogs[1].logId.keyId",
        "does not identify",
    ),
    (
        "checkpoint-key-id-wrong",
        _set((*TLOG0, "checkpointKeyId"), {"keyId": b64(b"\x00" * 32)}),
        "$.tlogs[0].checkpointKeyId.keyId",
        "does not identify",
    ),
    (
        "ca-chain-empty",
        _set((*CA1, "certChain", "certificates"), []),
        "$.certificateAuthorities[1].certChain.certificates",
        "is empty",
    ),
    (
        "ca-chain-root-first",
        _reverse_chain,
        "$.certificateAuthorities[1].certChain.certificates[1]",
        "must be a self-signed root",
    ),
    (
        "ca-chain-without-root",
        _drop_root,
        "$.certificateAuthorities[1].certChain.certificates[0]",
        "must be a self-signed root",
    ),
    (
        "ca-chain-other-root",
        _cert_of_other_ca,
        "$.certificateAuthorities[1].certChain.certificates[0]",
        "not issued by the next certificate",
    ),
    (
        "ca-cert-not-der",
        _set((*CA1, "certChain", "certificates", 0, "rawBytes"), b64(b"junk")),
        "$.certificateAuthorities[1].certChain.certificates[0].rawBytes",
        "not a DER X.509 certificate",
    ),
    (
        "ca-without-valid-for",
        _delete((*CA1, "validFor")),
        "$.certificateAuthorities[1]:",
        "missing member 'validFor'",
    ),
    (
        "ca-valid-for-without-start",
        _set((*CA1, "validFor"), {"end": "2030-01-01T00:00:00Z"}),
        "$.certificateAuthorities[1].validFor:",
        "missing member 'start'",
    ),
    (
        "window-end-before-start",
        _set((*CA1, "validFor"), {"start": "2030-01-01T00:00:00Z", "end": "2029-01-01T00:00:00Z"}),
        "$.certificateAuthorities[1].validFor.end",
        "before the start",
    ),
    (
        "timestamp-month-13",
        _set((*TLOG0, "publicKey", "validFor", "start"), "2024-13-01T00:00:00Z"),
        "$.tlogs[0].publicKey.validFor.start",
        "not a valid date",
    ),
    (
        "timestamp-without-zone",
        _set((*TLOG0, "publicKey", "validFor", "start"), "2024-01-01T00:00:00"),
        "$.tlogs[0].publicKey.validFor.start",
        "not an RFC 3339 timestamp",
    ),
    (
        "timestamp-a-number",
        _set((*TLOG0, "publicKey", "validFor", "start"), 1704067200),
        "$.tlogs[0].publicKey.validFor.start",
        "must be a string",
    ),
    (
        "subject-not-strings",
        _set((*CA1, "subject"), {"commonName": 3}),
        "$.certificateAuthorities[1].subject.commonName",
        "must be a string",
    ),
]


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [pytest.param(c, p, m, id=name) for name, c, p, m in REFUSED],
)
def test_refused(
    document: dict[str, Any], change: Callable[[dict[str, Any]], None], path: str, problem: str
) -> None:
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(InputError) as caught:
        load_trusted_root(dumps(broken), "root.json")
    message = str(caught.value)
    assert message.startswith("root.json: "), message
    assert path in message and problem in message, message
    assert "\n" not in message


RAW_REFUSED = [
    ("not-json", b"{", "$: not JSON"),
    ("not-utf8", b'{"mediaType": "\xff"}', "$: not UTF-8"),
    ("array", b"[]", "$: not a JSON object"),
    ("duplicate-key", b'{"mediaType": "a", "mediaType": "b"}', "duplicate key 'mediaType'"),
    ("nan", b'{"mediaType": NaN}', "NaN is not a valid JSON number"),
    ("trailing-data", b'{"mediaType": "a"} {}', "$: not JSON"),
    ("deep-nesting", b'{"tlogs": ' + b"[" * 100 + b"]" * 100 + b"}", "nested deeper than"),
    ("oversized", b" " * (MAX_TRUSTED_ROOT + 1), "over the 1048576-byte limit"),
]


@pytest.mark.parametrize(("data", "problem"), [pytest.param(d, m, id=n) for n, d, m in RAW_REFUSED])
def test_refused_bytes(data: bytes, problem: str) -> None:
    with pytest.raises(InputError, match=r"^root\.json: ") as caught:
        load_trusted_root(data, "root.json")
    assert problem in str(caught.value)


def test_an_algorithm_we_do_not_verify_leaves_that_log_out(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["tlogs"][1]["publicKey"]["keyDetails"] = "ML_DSA_65"
    root = load_trusted_root(dumps(changed), "root.json")
    assert len(root.rekor) == 1
    assert root.skipped == ("$.tlogs[1] (ML_DSA_65)",)


TIMESTAMPS = [
    ("utc", "2024-01-01T00:00:00Z", T0),
    ("offset", "2024-01-01T01:00:00+01:00", T0),
    ("negative-offset", "2023-12-31T23:00:00-01:00", T0),
    ("millis-dropped", "2024-01-01T00:00:00.999Z", T0),
    ("nanos", "2024-01-01T00:00:00.123456789Z", T0),
    ("leap-day", "2024-02-29T00:00:00Z", T0 + 59 * 86_400),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=n) for n, t, e in TIMESTAMPS])
def test_timestamps(document: dict[str, Any], text: str, expected: int) -> None:
    changed = copy.deepcopy(document)
    changed["tlogs"][0]["publicKey"]["validFor"] = {"start": text}
    root = load_trusted_root(dumps(changed), "root.json")
    assert root.rekor[0].window == ValidityWindow(expected, None)


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "application/vnd.dev.sigstore.trustedroot.v0.1+json",
        "application/vnd.dev.sigstore.trustedroot.v0.2+json",
    ],
)
def test_media_types(document: dict[str, Any], media_type: str) -> None:
    changed = copy.deepcopy(document)
    changed["mediaType"] = media_type
    # v0.2 adds checkpointKeyId and operator to a log, operator to a CA.
    changed["tlogs"][0]["checkpointKeyId"] = dict(changed["tlogs"][0]["logId"])
    changed["tlogs"][0]["operator"] = "example.test"
    changed["certificateAuthorities"][0]["operator"] = "example.test"
    assert load_trusted_root(dumps(changed), "root.json").media_type == media_type


def test_missing_lists_are_empty() -> None:
    data = json.dumps({"mediaType": "application/vnd.dev.sigstore.trustedroot.v0.2+json"})
    root = load_trusted_root(data.encode(), "root.json")
    assert (root.fulcio, root.rekor, root.ctlogs) == ((), (), ())


def test_pkcs1_rsa_key_of_the_deprecated_details(document: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import PublicFormat

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    changed = copy.deepcopy(document)
    log = changed["ctlogs"][0]
    log["publicKey"]["keyDetails"] = "PKCS1_RSA_PKCS1V5"
    log["publicKey"]["rawBytes"] = b64(key.public_bytes(Encoding.DER, PublicFormat.PKCS1))
    log["logId"]["keyId"] = base64.b64encode(log_id_of(key)).decode()
    root = load_trusted_root(dumps(changed), "root.json")
    assert root.ctlogs[0].log_id == log_id_of(key)
