"""Reading gpg's status lines (sigpolicy.signature._gnupg_status), on lines gpg 2.2 prints."""

from __future__ import annotations

import pytest

from sigpolicy.signature._gnupg_status import (
    ErrSig,
    StatusFormatError,
    ValidSig,
    read_status,
)

FPR = "08CD26E446E2E95249B7A405E932F44B23E8DD43"
SUB = "57D1D95BBC53BA0EAFF0718CD75B3109B3BAAEAF"
GOOD = [
    ("PLAINTEXT", "62 1750706529 "),
    ("NEWSIG", ""),
    ("KEY_CONSIDERED", f"{FPR} 0"),
    ("SIG_ID", "+Xo4gxGW+K385MYeud7pHvEmmpg 2025-06-23 1750706529"),
    ("GOODSIG", "E932F44B23E8DD43 skopeo testing key"),
    ("VALIDSIG", f"{SUB} 2025-06-23 1750706529 0 4 0 1 8 00 {FPR}"),
]


def test_good_signature() -> None:
    report = read_status(GOOD)
    assert report.plaintext
    assert not report.encrypted
    [sig] = report.signatures
    assert sig.result == "GOODSIG"
    assert sig.key_id == "E932F44B23E8DD43"
    assert sig.validsig == ValidSig(SUB, 1750706529, 0, 4, 1, 8, 0x00, FPR)


def test_each_newsig_opens_a_signature() -> None:
    report = read_status(GOOD + GOOD[1:])
    assert len(report.signatures) == 2


def test_errsig_with_and_without_fingerprint() -> None:
    report = read_status(
        [
            ("NEWSIG", ""),
            ("ERRSIG", "5F9470E3BC6C3B55 1 8 00 1750785414 9 -"),
            ("NO_PUBKEY", "5F9470E3BC6C3B55"),
            ("NEWSIG", ""),
            ("ERRSIG", f"E932F44B23E8DD43 1 2 01 1750785414 125 {FPR}"),
        ]
    )
    first, second = report.signatures
    assert first.errsig == ErrSig("5F9470E3BC6C3B55", 1, 8, 0x00, 1750785414, 9, None)
    assert second.errsig == ErrSig("E932F44B23E8DD43", 1, 2, 0x01, 1750785414, 125, FPR)


def test_expiry_and_revocation_lines() -> None:
    [sig] = read_status(
        [
            ("NEWSIG", ""),
            ("KEYEXPIRED", "1794768730"),
            ("EXPSIG", "7D5C731501899D2C someone"),
            ("VALIDSIG", f"{FPR} 2026-11-14 1794682330 1794685930 4 0 22 8 00 {FPR}"),
            ("KEYREVOKED", ""),
        ]
    ).signatures
    assert sig.result == "EXPSIG"
    assert sig.key_expired
    assert sig.key_revoked
    assert sig.validsig is not None
    assert sig.validsig.expires == 1794685930


def test_two_result_lines_are_no_single_verdict() -> None:
    [sig] = read_status(
        [("NEWSIG", ""), ("BADSIG", "E932F44B23E8DD43 x"), ("GOODSIG", "E932F44B23E8DD43 x")]
    ).signatures
    assert sig.result is None


def test_no_signature_lines() -> None:
    assert read_status([("PLAINTEXT", "62 0 "), ("PLAINTEXT_LENGTH", "7")]).signatures == []
    encrypted = read_status([("ENC_TO", "9823CCA2EFCB559B 1 0"), ("DECRYPTION_FAILED", "")])
    assert encrypted.encrypted
    assert read_status([("NODATA", "1")]).nodata


@pytest.mark.parametrize(
    "line",
    [
        ("VALIDSIG", f"{FPR} 2025-06-23 1750706529"),
        ("VALIDSIG", f"{FPR} 2025-06-23 20250623T000000 0 4 0 1 8 00 {FPR}"),
        ("VALIDSIG", f"{FPR[:-1]} 2025-06-23 1750706529 0 4 0 1 8 00 {FPR}"),
        ("ERRSIG", "E932F44B23E8DD43 1 8 00"),
        ("ERRSIG", "E932F44B23E8DD43 1 8 zz 1750785414 9 -"),
        ("GOODSIG", ""),
        ("BADSIG", "not-a-key-id someone"),
    ],
    ids=[
        "validsig-short",
        "validsig-iso-time",
        "validsig-bad-fingerprint",
        "errsig-short",
        "errsig-bad-class",
        "goodsig-empty",
        "badsig-bad-key-id",
    ],
)
def test_unexpected_shapes_are_errors(line: tuple[str, str]) -> None:
    with pytest.raises(StatusFormatError):
        read_status([("NEWSIG", ""), line])
