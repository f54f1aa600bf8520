"""The log side of a Sigstore bundle, shared by message-signature and DSSE bundles: which
trust the bundle's material fits, which entries come from trusted logs, and each entry's
version rules, inclusion proof and checkpoint (rules 3 and 4a-4c of
:mod:`sigpolicy.signature.bundle`)."""

from __future__ import annotations

from typing import Final

from sigpolicy.errors import VerificationError
from sigpolicy.reasons import Reason
from sigpolicy.signature.bundle_format import Bundle, TlogEntry
from sigpolicy.signature.checkpoint import verify_checkpoint
from sigpolicy.signature.keyless import SigstoreTrust
from sigpolicy.signature.merkle import leaf_hash, root_from_inclusion_proof
from sigpolicy.signature.sigstore_roots import RekorKey

HASHEDREKORD: Final = ("hashedrekord", "0.0.1")
DSSE: Final = ("dsse", "0.0.1")


def check_material(bundle: Bundle, trust: SigstoreTrust) -> None:
    if trust.keys is not None and bundle.certificate is not None:
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            "the bundle is signed with a certificate; the policy trusts public keys",
        )
    if trust.keys is None and bundle.certificate is None:
        which = "Fulcio" if trust.fulcio is not None else "PKI"
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"the bundle is signed with a public key; the policy requires a {which} certificate",
        )


def trusted_entries(bundle: Bundle, keys: tuple[RekorKey, ...]) -> list[tuple[TlogEntry, RekorKey]]:
    by_id = {key.log_id: key for key in keys}
    found = [(entry, by_id[entry.log_id]) for entry in bundle.tlog_entries if entry.log_id in by_id]
    if not found:
        count = len(bundle.tlog_entries)
        raise VerificationError(
            Reason.UNKNOWN_KEY,
            f"none of the bundle's {count} transparency log entr{'y' if count == 1 else 'ies'}"
            f" is from one of the {len(keys)} trusted Rekor logs",
        )
    return found


def check_entry(
    bundle: Bundle, entry: TlogEntry, key: RekorKey, kind: tuple[str, str] = HASHEDREKORD
) -> None:
    """Rules 4a-4c of :mod:`sigpolicy.signature.bundle` for one entry of a trusted log."""
    if (entry.kind, entry.version) != kind:  # 4a
        raise VerificationError(
            Reason.UNSUPPORTED,
            f"log entry kind {entry.kind[:40]!r} {entry.version[:40]!r} is not supported for a"
            f" {'message signature' if kind == HASHEDREKORD else 'DSSE envelope'}"
            f" ({kind[0]} {kind[1]} only)",
        )
    if entry.promise is None:  # 4b
        if bundle.version == 1:
            raise VerificationError(
                Reason.MALFORMED, "a v0.1 bundle's log entry must carry an inclusion promise"
            )
        raise VerificationError(
            Reason.UNSUPPORTED,
            "the log entry has no inclusion promise (SET): its integrated time is not signed,"
            " and RFC 3161 timestamps are not verified here",
        )
    proof = entry.proof
    if bundle.version >= 2 and (proof is None or proof.checkpoint is None):  # 4c
        raise VerificationError(
            Reason.MALFORMED,
            f"a v0.{bundle.version} bundle's log entry must carry an inclusion proof with a"
            " checkpoint",
        )
    if proof is None or proof.checkpoint is None:
        return  # v0.1: the promise alone is what the spec requires
    root = root_from_inclusion_proof(
        proof.log_index, proof.tree_size, leaf_hash(entry.body), proof.hashes
    )
    if root != proof.root_hash:
        raise VerificationError(
            Reason.BAD_SIGNATURE,
            f"inclusion proof: the path from this entry leads to root {root.hex()[:16]}...,"
            f" not the proof's rootHash {proof.root_hash.hex()[:16]}...",
        )
    verify_checkpoint(proof.checkpoint, key, tree_size=proof.tree_size, root_hash=root)
