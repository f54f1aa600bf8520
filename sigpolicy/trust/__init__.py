"""The trust store (layer 4): which keys are trusted, and who each one belongs to.

Trust rules (details in :mod:`sigpolicy.trust.store` and docs/trust-store.md):

1. A trust file names entries; each entry has a unique name, an optional issuer and subject
   (organization, commonName) and one or more key items (a file, inline data, a Secret or
   ConfigMap key).
2. Every certificate of a key item is trusted, unless its ``publicKeyID`` pin (16 to 40 hex
   digits) narrows it to the one certificate it matches.
3. A key belongs to one entry only; the signer of a verified signature is found by its
   primary fingerprint (:meth:`TrustStore.signer_entry`), else ``unknown-key``.
4. ``TrustStore.generation`` changes exactly when the trusted set changes.

This package imports neither YAML nor pydantic: the verification path uses
:class:`TrustStore` only. Loading a trust file is in :mod:`sigpolicy.trust.load`
(``load_trust_store``, ``aload_trust_store``), watching it in :mod:`sigpolicy.trust.watch`
(``TrustStoreWatcher``), and the schema in :mod:`sigpolicy.trust.schema`
(``trust_store_json_schema``).
"""

from sigpolicy.trust.identity import Identity, TrustedSigner
from sigpolicy.trust.pin import PinError, key_id_matches, parse_key_id
from sigpolicy.trust.store import EntryMaterial, KeyMaterial, TrustEntry, TrustStore

__all__ = [
    "EntryMaterial",
    "Identity",
    "KeyMaterial",
    "PinError",
    "TrustEntry",
    "TrustStore",
    "TrustedSigner",
    "key_id_matches",
    "parse_key_id",
]
