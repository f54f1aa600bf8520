"""Who a trusted key belongs to, and who signed a verified message.

The trust store is the only place an identity comes from: a signature's own claims are
believed only when they agree with what :class:`TrustedSigner` says (SEMANTICS.md §5,
``claims-mismatch``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sigpolicy.trust.pin import PinError, key_id_matches, parse_key_id


@dataclass(frozen=True, slots=True)
class Identity:
    """An ``organization`` and ``commonName`` pair, as in ImageSignature's issuedBy/issuedTo."""

    organization: str | None = None
    common_name: str | None = None

    def agrees_with(self, organization: str | None, common_name: str | None) -> bool:
        """Whether declared values agree: each one that is set must equal ours exactly."""
        return (organization is None or organization == self.organization) and (
            common_name is None or common_name == self.common_name
        )


NO_IDENTITY = Identity()


@dataclass(frozen=True, slots=True)
class TrustedSigner:
    """The trust entry behind a verified signature, with what to record about it.

    - ``entry``: the trust entry's name (``keyring:<file>`` for ``--keyring`` keys).
    - ``issuer``: the entry's issuer; empty when the entry names none (``issuedBy``).
    - ``subject``: the entry's subject, or else the key's primary user ID as ``common_name``
      (``issuedTo.organization``/``commonName``).
    - ``fingerprint``: the primary key's fingerprint (uppercase hex), the signer.
    - ``signing_key``: the fingerprint of the key that made the signature (a subkey or the
      primary).
    - ``public_key_id``: ``0x`` + 16 lowercase hex digits of the signing key, the value of
      ``issuedTo.publicKeyID``.
    """

    entry: str
    issuer: Identity
    subject: Identity
    fingerprint: str
    signing_key: str
    public_key_id: str

    def matches_public_key_id(self, declared: str) -> bool:
        """Whether a declared ``publicKeyID`` names this signer.

        It must be a valid key ID (16 to 40 hex digits) ending the signing key's fingerprint
        or the primary's: both identify the one certificate that verified the signature.
        """
        try:
            digits = parse_key_id(declared)
        except PinError:
            return False
        return key_id_matches(digits, self.signing_key) or key_id_matches(digits, self.fingerprint)
