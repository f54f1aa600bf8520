"""gpg's machine-readable status lines, read into what they say about each signature.

Pure: status lines (as python-gnupg splits them: keyword, value) in, a :class:`GpgReport`
out. The format is gpg's ``doc/DETAILS``; the lines that matter for a signed message are

- ``NEWSIG`` opens each signature; what follows up to the next ``NEWSIG`` is about it;
- exactly one result: ``GOODSIG``, ``EXPSIG`` (the signature expired), ``EXPKEYSIG``
  (the key expired), ``REVKEYSIG`` (the key is revoked), ``BADSIG`` or ``ERRSIG``
  (could not be checked: ``<keyid> <pkalgo> <hashalgo> <class> <time> <rc> [<fpr>]``,
  rc 9 = no public key, rc 4 = unsupported algorithm);
- ``VALIDSIG <fpr> <date> <created> <expires> <version> <reserved> <pkalgo> <hashalgo>
  <class> <primary-fpr>``, printed whenever the cryptography verified (also alongside
  EXPSIG, EXPKEYSIG and REVKEYSIG);
- ``KEYEXPIRED`` / ``KEYREVOKED`` while the signing key is checked;
- ``PLAINTEXT`` for literal data, ``NODATA <n>`` when no OpenPGP data was found, and
  ``ENC_TO``, ``BEGIN_DECRYPTION``, ``DECRYPTION_FAILED``, ``NEED_PASSPHRASE_SYM``,
  ``NO_SECKEY`` for encrypted input.

A value that does not have the documented shape raises :class:`StatusFormatError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

Result: TypeAlias = Literal["GOODSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "BADSIG", "ERRSIG"]

_RESULTS: frozenset[str] = frozenset(
    {"GOODSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "BADSIG", "ERRSIG"}
)
_ENCRYPTION: frozenset[str] = frozenset(
    {
        "ENC_TO",
        "BEGIN_DECRYPTION",
        "DECRYPTION_FAILED",
        "DECRYPTION_OKAY",
        "NEED_PASSPHRASE_SYM",
        "NO_SECKEY",
        "DECRYPTION_INFO",
    }
)


class StatusFormatError(ValueError):
    """A status line does not have the shape gpg documents."""


@dataclass(frozen=True, slots=True)
class ValidSig:
    fingerprint: str
    created: int
    expires: int
    version: int
    pk_algo: int
    hash_algo: int
    sig_class: int
    primary: str


@dataclass(frozen=True, slots=True)
class ErrSig:
    key_id: str
    pk_algo: int
    hash_algo: int
    sig_class: int
    created: int
    rc: int
    fingerprint: str | None


@dataclass(slots=True)
class SignatureReport:
    """Everything gpg said between one ``NEWSIG`` and the next."""

    results: list[Result] = field(default_factory=list)
    key_id: str | None = None
    validsig: ValidSig | None = None
    errsig: ErrSig | None = None
    key_expired: bool = False
    key_revoked: bool = False

    @property
    def result(self) -> Result | None:
        """The single result line, or None when there is none or more than one."""
        return self.results[0] if len(self.results) == 1 else None


@dataclass(slots=True)
class GpgReport:
    signatures: list[SignatureReport] = field(default_factory=list)
    plaintext: bool = False
    encrypted: bool = False
    nodata: bool = False


def read_status(lines: Iterable[tuple[str, str]]) -> GpgReport:
    """Group the status lines of one ``gpg --decrypt`` run by signature."""
    report = GpgReport()
    current: SignatureReport | None = None
    for keyword, value in lines:
        if keyword == "NEWSIG":
            current = SignatureReport()
            report.signatures.append(current)
        elif keyword == "PLAINTEXT":
            report.plaintext = True
        elif keyword == "NODATA":
            report.nodata = True
        elif keyword in _ENCRYPTION:
            report.encrypted = True
        elif keyword in _RESULTS or keyword in ("VALIDSIG", "KEYEXPIRED", "KEYREVOKED"):
            if current is None:  # gpg 2.2 always opens a signature with NEWSIG
                current = SignatureReport()
                report.signatures.append(current)
            _apply(current, keyword, value)
    return report


def _apply(sig: SignatureReport, keyword: str, value: str) -> None:
    fields = value.split()
    if keyword == "VALIDSIG":
        sig.validsig = _validsig(fields)
    elif keyword == "KEYEXPIRED":
        sig.key_expired = True
    elif keyword == "KEYREVOKED":
        sig.key_revoked = True
    else:
        sig.results.append(_result(keyword))
        if keyword == "ERRSIG":
            sig.errsig = _errsig(fields)
            sig.key_id = sig.errsig.key_id
        else:
            if not fields:
                raise StatusFormatError(f"{keyword} without a key ID")
            sig.key_id = _hex(fields[0], 16, keyword)


def _result(keyword: str) -> Result:
    if keyword == "GOODSIG":
        return "GOODSIG"
    if keyword == "EXPSIG":
        return "EXPSIG"
    if keyword == "EXPKEYSIG":
        return "EXPKEYSIG"
    if keyword == "REVKEYSIG":
        return "REVKEYSIG"
    if keyword == "BADSIG":
        return "BADSIG"
    return "ERRSIG"


def _validsig(fields: list[str]) -> ValidSig:
    if len(fields) < 10:
        raise StatusFormatError(f"VALIDSIG has {len(fields)} fields, expected 10")
    return ValidSig(
        fingerprint=_hex(fields[0], 40, "VALIDSIG"),
        created=_number(fields[2], "VALIDSIG creation time"),
        expires=_number(fields[3], "VALIDSIG expiry"),
        version=_number(fields[4], "VALIDSIG version"),
        pk_algo=_number(fields[6], "VALIDSIG public-key algorithm"),
        hash_algo=_number(fields[7], "VALIDSIG hash algorithm"),
        sig_class=_number(fields[8], "VALIDSIG class", base=16),
        primary=_hex(fields[9], 40, "VALIDSIG primary fingerprint"),
    )


def _errsig(fields: list[str]) -> ErrSig:
    if len(fields) < 6:
        raise StatusFormatError(f"ERRSIG has {len(fields)} fields, expected 6 or 7")
    fingerprint = fields[6] if len(fields) > 6 and fields[6] != "-" else None
    return ErrSig(
        key_id=_hex(fields[0], 16, "ERRSIG"),
        pk_algo=_number(fields[1], "ERRSIG public-key algorithm"),
        hash_algo=_number(fields[2], "ERRSIG hash algorithm"),
        sig_class=_number(fields[3], "ERRSIG class", base=16),
        created=_number(fields[4], "ERRSIG creation time"),
        rc=_number(fields[5], "ERRSIG return code"),
        fingerprint=_hex(fingerprint, 40, "ERRSIG") if fingerprint is not None else None,
    )


def _number(text: str, what: str, *, base: int = 10) -> int:
    try:
        return int(text, base)
    except ValueError:
        raise StatusFormatError(f"{what} is not a number: {text!r}") from None


def _hex(text: str, length: int, what: str) -> str:
    upper = text.upper()
    if len(upper) != length or any(c not in "0123456789ABCDEF" for c in upper):
        raise StatusFormatError(f"{what}: {text!r} is not {length} hex digits")
    return upper
