"""The conformance corpus's Rekor, Fulcio and PKI images, decided through ClusterImagePolicy
objects with ``check-image --dir``, as containers/image's ``policy_eval_sigstore_test.go``
decides them through the equivalent ``sigstoreSigned`` requirements (matchRepository)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigpolicy.cli.main import main
from tests.conformance.corpus import CORPUS
from tests.openshift_policy.kit import (
    JsonObject,
    cluster_policy,
    fulcio,
    identity,
    pki,
    public_key,
    write_objects,
)


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


GITHUB = "https://github.com/login/oauth"
# name -> (scope, trust, image, layout, exit status of check-image)
CASES: dict[str, tuple[str, JsonObject, str, str, int]] = {
    "key-with-rekor": (
        "192.168.64.2:5000", public_key(read("cosign2.pub"), read("rekor.pub")),
        "192.168.64.2:5000/cosign-signed/key-1", "dir-img-cosign-key-rekor-valid", 0,
    ),
    "key-with-the-wrong-rekor-key": (
        "192.168.64.2:5000", public_key(read("cosign2.pub"), read("cosign.pub")),
        "192.168.64.2:5000/cosign-signed/key-1", "dir-img-cosign-key-rekor-valid", 1,
    ),
    "fulcio-with-rekor": (
        "192.168.64.2:5000", fulcio(read("fulcio_v1.crt.pem"), read("rekor.pub"), GITHUB, "mitr@redhat.com"),
        "192.168.64.2:5000/cosign-signed/fulcio-rekor-1", "dir-img-cosign-fulcio-rekor-valid", 0,
    ),
    "fulcio-other-email": (
        "192.168.64.2:5000", fulcio(read("fulcio_v1.crt.pem"), read("rekor.pub"), GITHUB, "this-does-not-match@example.com"),
        "192.168.64.2:5000/cosign-signed/fulcio-rekor-1", "dir-img-cosign-fulcio-rekor-valid", 1,
    ),
    "fulcio-wrong-rekor-key": (
        "192.168.64.2:5000", fulcio(read("fulcio_v1.crt.pem"), read("cosign.pub"), GITHUB, "mitr@redhat.com"),
        "192.168.64.2:5000/cosign-signed/fulcio-rekor-1", "dir-img-cosign-fulcio-rekor-valid", 1,
    ),
    "pki-with-intermediates": (
        "localhost:5000", pki(read("pki_root_crts.pem"), read("pki_intermediate_crts.pem"), "qiwan@redhat.com", "myhost.example.com"),
        "localhost:5000/test", "dir-img-cosign-pki-valid", 0,
    ),
    "pki-other-hostname": (
        "localhost:5000", pki(read("pki_root_crts.pem"), read("pki_intermediate_crts.pem"), None, "other.example.com"),
        "localhost:5000/test", "dir-img-cosign-pki-valid", 1,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_corpus_keyless_images(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scope, trust, image, layout, expected = CASES[name]
    objects = [cluster_policy("corpus", [scope], trust, identity("MatchRepository"))]
    policy = write_objects(tmp_path / "cip.yaml", objects)
    code = main(["check-image", image, "--policy", str(policy), "--dir", str(CORPUS / layout)])
    out = capsys.readouterr()
    assert (code, out.err) == (expected, ""), out.out
