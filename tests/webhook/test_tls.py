"""The webhook served by uvicorn over real TLS on 127.0.0.1 and called over HTTP(S), and its
certificate replaced on disk while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import shutil
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID

from sigpolicy.errors import InputError
from tests.webhook.support import (
    CHECKOUT_BY_DIGEST,
    UNSIGNED,
    client_context,
    example_state,
    pod_review,
    response_of,
    served,
    served_certificate,
)
from tests.webhook.test_validate import metric
from webhook.tls import ReloadingCertificate, SelfSigned, write_self_signed


def _der(files: SelfSigned) -> bytes:
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    return cert.public_bytes(Encoding.DER)


def _wait_for(port: int, context: ssl.SSLContext, wanted: bytes, seconds: float = 10) -> bytes:
    deadline = time.monotonic() + seconds
    seen = served_certificate(port, context)
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = served_certificate(port, context)
    return seen


async def test_reviews_over_tls_keep_alive(tmp_path: Path) -> None:
    files = write_self_signed(tmp_path / "tls")
    tls = ReloadingCertificate(files.cert, files.key, interval=0.05)
    state = await example_state()
    with served(state, tls) as server:
        context = client_context(files.ca)
        async with httpx2.AsyncClient(verify=context, base_url=server.url) as client:
            allowed = response_of(
                await client.post("/validate", json=pod_review([CHECKOUT_BY_DIGEST], uid="ok"))
            )
            denied = response_of(
                await client.post("/validate", json=pod_review([UNSIGNED], uid="no"))
            )
            malformed = response_of(await client.post("/validate", content=b"{"))
            burst = await asyncio.gather(
                *(
                    client.post(
                        "/validate",
                        json=pod_review([CHECKOUT_BY_DIGEST if n % 2 else UNSIGNED], uid=str(n)),
                    )
                    for n in range(30)
                )
            )
            ready = await client.get("/readyz")
            text = (await client.get("/metrics")).text
    assert allowed == {"uid": "ok", "allowed": True}
    assert denied["uid"] == "no"
    assert denied["allowed"] is False
    assert f"image {UNSIGNED}: scope shop: unsigned" in denied["status"]["message"]
    assert malformed["status"]["code"] == 400
    for n, reply in enumerate(burst):
        response = response_of(reply)
        assert response["uid"] == str(n)
        assert response["allowed"] is bool(n % 2)
    assert ready.status_code == 200
    assert metric(text, "sigpolicy_reviews_total", decision="allowed", kind="Pod") == 16


async def test_certificate_replaced_on_disk_is_served_without_restart(tmp_path: Path) -> None:
    first = write_self_signed(tmp_path / "tls")
    backup = tmp_path / "first"
    shutil.copytree(tmp_path / "tls", backup)
    tls = ReloadingCertificate(first.cert, first.key, interval=0.05)
    state = await example_state()
    with served(state, tls) as server:
        both = client_context(backup / "ca.crt")
        old_der = await asyncio.to_thread(served_certificate, server.port, both)
        async with httpx2.AsyncClient(
            verify=client_context(backup / "ca.crt"), base_url=server.url
        ) as kept_alive:
            before = response_of(await kept_alive.post("/validate", json=pod_review(["x"])))
            second = write_self_signed(tmp_path / "tls")  # same paths, new CA and key
            both.load_verify_locations(cafile=second.ca)
            new_der = await asyncio.to_thread(_wait_for, server.port, both, _der(second))
            still = response_of(await kept_alive.post("/validate", json=pod_review(["x"])))
        async with httpx2.AsyncClient(
            verify=client_context(second.ca), base_url=server.url
        ) as fresh:
            after = response_of(await fresh.post("/validate", json=pod_review(["x"])))
            text = (await fresh.get("/metrics")).text
    assert old_der == _der(SelfSigned(backup / "ca.crt", backup / "tls.crt", backup / "tls.key"))
    assert new_der == _der(second)
    assert before["uid"] == still["uid"] == after["uid"] == "uid-1"
    assert metric(text, "sigpolicy_tls_reloads_total") >= 1


async def test_broken_replacement_keeps_the_last_good_certificate(tmp_path: Path) -> None:
    files = write_self_signed(tmp_path / "tls")
    other = write_self_signed(tmp_path / "other")
    tls = ReloadingCertificate(files.cert, files.key, interval=0.05)
    good = _der(files)
    state = await example_state()
    with served(state, tls) as server:
        files.key.write_bytes(other.key.read_bytes())  # a key of another certificate
        for _ in range(100):
            if tls.reload_failures:
                break
            await asyncio.sleep(0.02)
        served_now = await asyncio.to_thread(
            served_certificate, server.port, client_context(files.ca)
        )
    assert tls.reload_failures == 1
    assert tls.last_error is not None and "not a usable pair" in tls.last_error
    assert served_now == good


@pytest.mark.parametrize("damage", ["missing-key", "garbage-cert", "mismatched-key"])
def test_unusable_pair_at_start_is_an_input_error(tmp_path: Path, damage: str) -> None:
    files = write_self_signed(tmp_path / "tls")
    if damage == "missing-key":
        files.key.unlink()
    elif damage == "garbage-cert":
        files.cert.write_text("not a certificate\n")
    else:
        files.key.write_bytes(write_self_signed(tmp_path / "other").key.read_bytes())
    with pytest.raises(InputError, match="TLS"):
        ReloadingCertificate(files.cert, files.key)


def test_self_signed_certificate_names_and_private_key(tmp_path: Path) -> None:
    names = ("localhost", "127.0.0.1", "::1", "sigpolicy-webhook.sigpolicy.svc")
    files = write_self_signed(tmp_path / "tls", names=names)
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "sigpolicy-webhook.sigpolicy.svc"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert files.key.stat().st_mode & 0o077 == 0
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    cert.verify_directly_issued_by(ca)


def _rsa_pair(folder: Path) -> bytes:
    """An RSA certificate and key written over ``folder``'s tls.crt and tls.key; its DER."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "tls.crt").write_bytes(cert.public_bytes(Encoding.PEM))
    (folder / "tls.key").write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    return cert.public_bytes(Encoding.DER)


@pytest.mark.parametrize("sni", ["localhost", None], ids=["with-sni", "without-sni"])
def test_a_rotation_to_another_key_type_serves_only_the_new_certificate(
    tmp_path: Path, sni: str | None
) -> None:
    first = write_self_signed(tmp_path)  # ECDSA P-256
    tls = ReloadingCertificate(first.cert, first.key, interval=60)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError, ssl.SSLError):
                tls.context.wrap_socket(connection, server_side=True).close()

    threading.Thread(target=serve, daemon=True).start()
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE  # which certificate comes is the question, not trust

    def served() -> bytes:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client.wrap_socket(raw, server_hostname=sni) as connection,
        ):
            der = connection.getpeercert(binary_form=True)
        assert der is not None
        return der

    try:
        assert served() == _der(first)
        time.sleep(0.01)
        new = _rsa_pair(tmp_path)
        assert tls.check()
        assert [served() for _ in range(3)] == [new] * 3
    finally:
        listener.close()
