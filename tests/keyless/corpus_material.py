"""Trust material of the conformance corpus, and the identities containers/image's tests use."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from sigpolicy.signature.sigstore_roots import RekorKey, log_id_of
from tests.conformance.corpus import CORPUS

#: policy_eval_sigstore_test.go: the Fulcio identity of dir-img-cosign-fulcio-rekor-valid.
GITHUB_ISSUER = "https://github.com/login/oauth"
FULCIO_EMAIL = "mitr@redhat.com"
#: ... and the PKI identity of dir-img-cosign-pki-valid.
PKI_EMAIL = "qiwan@redhat.com"
PKI_HOST = "myhost.example.com"
#: rekor_set_test.go: the integrated time of the rekor-set fixture.
REKOR_SET_TIME = 1670870899


def rekor_keys(*names: str) -> tuple[RekorKey, ...]:
    """Rekor keys from corpus PEM files (a cosign key stands for a wrong log key)."""
    out = []
    for name in names:
        key = load_pem_public_key((CORPUS / name).read_bytes())
        out.append(RekorKey(key, log_id_of(key), origin=name))
    return tuple(out)
