"""Fresh OpenPGP keys and real signatures, made with the real ``gpg`` and ``skopeo``.

No private key is ever committed: every key is generated here, in a temporary GnuPG home of
its own, without a passphrase (``%no-protection``). The user's ``~/.gnupg`` is never
touched: every command gets ``--homedir`` and ``GNUPGHOME``, and :meth:`KeyFactory.close`
stops the agents started in those homes.

How gpg 2.2.40 is made to produce each case:

- time travel: ``--faked-system-time <epoch>!`` (``!`` freezes the clock) makes a key or a
  signature at any moment, past or future;
- a key that has expired by now: created in the past with ``Expire-Date: seconds=N`` in the
  ``--gen-key`` parameter file, and used to sign while it was still valid;
- a signature with its own expiry: ``--default-sig-expire seconds=N`` at a faked past time;
- a revoked primary: gpg writes a revocation certificate to ``openpgp-revocs.d/<FPR>.rev``
  at generation, with ``:`` before its armor header so it is not imported by accident;
  strip it and import it into a scratch home that holds only the public key;
- a revoked subkey: 2.2 has no ``--quick-revoke-key``, so ``--edit-key`` is scripted through
  ``--command-fd``: ``key 1``, ``revkey``, ``y``, reason ``0``, an empty description,
  ``y``, ``save`` (in a copy of the home, so the original can still sign).

A revoked key's home keeps the unrevoked key, so it can still sign: only the exported
public key carries the revocation, exactly as a key revoked after signing looks.

Traps: ``--quick-gen-key`` with ``--passphrase ''`` protects the key with an empty
passphrase (signing then needs loopback pinentry), hence ``%no-protection``; ``--store``
compresses unless ``--compress-level 0``; ECDSA P-256 cannot sign with SHA-1 ("Invalid
length"), so weak digests are made with RSA; a signature dated before its key needs
``--ignore-time-conflict``; skopeo (gpgme) finds the key through ``GNUPGHOME`` by the
primary fingerprint and signs with its signing subkey.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

KeyAlgo: TypeAlias = Literal[
    "rsa1024", "rsa2048", "rsa3072", "rsa4096", "ed25519", "nistp256", "nistp384", "dsa2048"
]
CompressAlgo: TypeAlias = Literal["none", "zip", "zlib", "bzip2"]

_GPG = "gpg"
_TIMEOUT = 120.0
_EMAIL_DOMAIN = "sigpolicy.test"

ATOMIC_TYPE = "atomic container signature"


class GpgCommandError(RuntimeError):
    """A gpg or skopeo command run by a test helper failed (a bug in the test setup)."""


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """One generated key, its secret in ``home`` and its public half exported.

    ``fingerprint`` is the primary key's; ``signing_fingerprint`` the key that signs
    (a subkey's when the key was generated with one). Both uppercase 40-hex.
    """

    name: str
    fingerprint: str
    signing_fingerprint: str
    home: Path
    public_key: bytes
    public_key_armored: bytes
    user_id: str

    @property
    def key_id(self) -> str:
        """The signing key's 64-bit key ID as an ImageSignature writes it (``0x`` + hex)."""
        return "0x" + self.signing_fingerprint[-16:].lower()

    @property
    def signs_with_subkey(self) -> bool:
        return self.signing_fingerprint != self.fingerprint


@dataclass(frozen=True, slots=True)
class GpgRun:
    """The outcome of one gpg command: its output and its ``[GNUPG:]`` status lines."""

    returncode: int
    stdout: bytes
    status: tuple[tuple[str, str], ...]
    stderr: str

    def first(self, keyword: str) -> str:
        """The value of the first status line with ``keyword``."""
        for key, value in self.status:
            if key == keyword:
                return value
        raise GpgCommandError(f"gpg printed no {keyword} status line:\n{self.stderr}")


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["GNUPGHOME"] = str(home)
    env["LC_ALL"] = "C"
    return env


def _status_lines(stderr: str) -> tuple[tuple[str, str], ...]:
    lines: list[tuple[str, str]] = []
    for line in stderr.splitlines():
        if line.startswith("[GNUPG:] "):
            keyword, _, value = line[len("[GNUPG:] ") :].partition(" ")
            lines.append((keyword, value))
    return tuple(lines)


def run_gpg(
    home: Path,
    *args: str,
    stdin: bytes = b"",
    faked_time: int | None = None,
    check: bool = True,
) -> GpgRun:
    """Run ``gpg`` in ``home`` in batch mode, status lines on stderr."""
    cmd = [
        _GPG,
        "--homedir",
        str(home),
        "--batch",
        "--no-tty",
        "--yes",
        "--pinentry-mode",
        "loopback",
        "--status-fd",
        "2",
    ]
    if faked_time is not None:
        cmd += ["--faked-system-time", f"{faked_time}!"]
    cmd += args
    proc = subprocess.run(
        cmd, input=stdin, capture_output=True, env=_env(home), timeout=_TIMEOUT, check=False
    )
    stderr = proc.stderr.decode("utf-8", "replace")
    run = GpgRun(proc.returncode, proc.stdout, _status_lines(stderr), stderr)
    if check and proc.returncode != 0:
        raise GpgCommandError(f"gpg {' '.join(args)} failed ({proc.returncode}):\n{stderr}")
    return run


def stop_agent(home: Path) -> None:
    """Stop every daemon (gpg-agent, dirmngr) that gpg started for ``home``."""
    subprocess.run(
        ["gpgconf", "--homedir", str(home), "--kill", "all"],
        env=_env(home),
        capture_output=True,
        timeout=_TIMEOUT,
        check=False,
    )


def _key_params(prefix: Literal["Key", "Subkey"], algo: KeyAlgo) -> list[str]:
    if algo.startswith("rsa"):
        return [f"{prefix}-Type: RSA", f"{prefix}-Length: {algo[3:]}"]
    if algo.startswith("dsa"):
        return [f"{prefix}-Type: DSA", f"{prefix}-Length: {algo[3:]}"]
    if algo == "ed25519":
        return [f"{prefix}-Type: EDDSA", f"{prefix}-Curve: ed25519"]
    return [f"{prefix}-Type: ECDSA", f"{prefix}-Curve: {algo}"]


def _fingerprints(home: Path, primary: str) -> list[str]:
    """Primary fingerprint first, then each subkey's, from the colon listing."""
    run = run_gpg(home, "--with-colons", "--with-subkey-fingerprint", "--list-keys", primary)
    fprs: list[str] = []
    for line in run.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields[0] == "fpr":
            fprs.append(fields[9])
    return fprs


def export_public(home: Path, fingerprint: str) -> tuple[bytes, bytes]:
    """The public key as ``gpg --export`` writes it: (binary, ASCII-armored)."""
    binary = run_gpg(home, "--export", fingerprint).stdout
    armored = run_gpg(home, "--export", "--armor", fingerprint).stdout
    if not binary:
        raise GpgCommandError(f"nothing exported for {fingerprint}")
    return binary, armored


class KeyFactory:
    """Makes keys in temporary homes under ``base``; :meth:`close` stops their agents."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._homes: list[Path] = []

    def new_home(self, label: str) -> Path:
        home = self._base / f"{len(self._homes):02d}-{label}"
        home.mkdir(mode=0o700)
        self._homes.append(home)
        return home

    def generate(
        self,
        name: str,
        *,
        algo: KeyAlgo = "ed25519",
        subkey_algo: KeyAlgo | None = None,
        expire_after: int | None = None,
        created: int | None = None,
        home: Path | None = None,
    ) -> GeneratedKey:
        """Generate a key (``--gen-key`` with a parameter file, no passphrase).

        With ``subkey_algo`` the primary may only certify and a subkey signs. The key
        expires ``expire_after`` seconds after creation (never if None); ``created`` fakes
        the creation time. ``home`` puts it beside other keys (to sign with several).
        """
        home = home or self.new_home(name)
        user_id = f"sigpolicy test {name} <{name}@{_EMAIL_DOMAIN}>"
        params = ["%no-protection", *_key_params("Key", algo)]
        if subkey_algo is None:
            params.append("Key-Usage: sign")
        else:
            params += ["Key-Usage: cert", *_key_params("Subkey", subkey_algo), "Subkey-Usage: sign"]
        params += [
            f"Name-Real: sigpolicy test {name}",
            f"Name-Email: {name}@{_EMAIL_DOMAIN}",
            f"Expire-Date: seconds={expire_after}" if expire_after else "Expire-Date: 0",
            "%commit",
            "",
        ]
        run = run_gpg(home, "--gen-key", stdin="\n".join(params).encode(), faked_time=created)
        primary = run.first("KEY_CREATED").split()[1]
        fprs = _fingerprints(home, primary)
        signing = fprs[1] if subkey_algo is not None else primary
        binary, armored = export_public(home, primary)
        return GeneratedKey(name, primary, signing, home, binary, armored, user_id)

    def revoke(self, key: GeneratedKey) -> GeneratedKey:
        """The same key, its public half carrying gpg's own revocation certificate (0x20)."""
        cert = (key.home / "openpgp-revocs.d" / f"{key.fingerprint}.rev").read_bytes()
        cert = cert.replace(b":-----BEGIN PGP PUBLIC KEY BLOCK", b"-----BEGIN PGP PUBLIC KEY BLOCK")
        scratch = self.new_home(f"{key.name}-revoked")
        run_gpg(scratch, "--import", stdin=key.public_key)
        run_gpg(scratch, "--import", stdin=cert)
        binary, armored = export_public(scratch, key.fingerprint)
        return _with_public(key, f"{key.name}-revoked", binary, armored)

    def revoke_subkey(self, key: GeneratedKey) -> GeneratedKey:
        """The same key, its public half carrying a revocation (0x28) of the signing subkey."""
        if not key.signs_with_subkey:
            raise ValueError(f"{key.name} signs with its primary key")
        clone = self.new_home(f"{key.name}-subkey-revoked")
        shutil.copytree(
            key.home, clone, dirs_exist_ok=True, ignore=shutil.ignore_patterns("S.*", "*.lock")
        )
        script = "key 1\nrevkey\ny\n0\n\ny\nsave\n"
        run_gpg(clone, "--command-fd", "0", "--edit-key", key.fingerprint, stdin=script.encode())
        binary, armored = export_public(clone, key.fingerprint)
        return _with_public(key, f"{key.name}-subkey-revoked", binary, armored)

    def close(self) -> None:
        for home in self._homes:
            stop_agent(home)


def _with_public(key: GeneratedKey, name: str, binary: bytes, armored: bytes) -> GeneratedKey:
    return GeneratedKey(
        name, key.fingerprint, key.signing_fingerprint, key.home, binary, armored, key.user_id
    )


# --- signing ---------------------------------------------------------------------------


def _sign_args(
    keys: Sequence[GeneratedKey],
    *,
    compress: bool,
    compress_algo: CompressAlgo | None,
    digest_algo: str,
    sig_expire: int | None,
) -> list[str]:
    args: list[str] = []
    for key in keys:
        args += ["--local-user", f"{key.signing_fingerprint}!"]
    args += ["--digest-algo", digest_algo]
    if not compress:
        args += ["--compress-level", "0"]
    if compress_algo is not None:
        args += ["--compress-algo", compress_algo]
    if sig_expire is not None:
        args += ["--default-sig-expire", f"seconds={sig_expire}"]
    return args


def sign(
    payload: bytes,
    key: GeneratedKey,
    *,
    compress: bool = True,
    compress_algo: CompressAlgo | None = None,
    digest_algo: str = "SHA256",
    faked_time: int | None = None,
    sig_expire: int | None = None,
    extra: Sequence[str] = (),
) -> bytes:
    """``gpg --sign``: the one-pass signed message simple signing uses (compressed by default).

    ``extra`` goes before ``--sign`` (e.g. ``--textmode``, ``--armor``).
    """
    return sign_many(
        payload,
        [key],
        compress=compress,
        compress_algo=compress_algo,
        digest_algo=digest_algo,
        faked_time=faked_time,
        sig_expire=sig_expire,
        extra=extra,
    )


def sign_many(
    payload: bytes,
    keys: Sequence[GeneratedKey],
    *,
    compress: bool = True,
    compress_algo: CompressAlgo | None = None,
    digest_algo: str = "SHA256",
    faked_time: int | None = None,
    sig_expire: int | None = None,
    extra: Sequence[str] = (),
) -> bytes:
    """``gpg -u A -u B --sign``: one message with a signature by each key (one shared home)."""
    homes = {key.home for key in keys}
    if len(homes) != 1:
        raise ValueError("keys that sign one message must live in one home")
    args = _sign_args(
        keys,
        compress=compress,
        compress_algo=compress_algo,
        digest_algo=digest_algo,
        sig_expire=sig_expire,
    )
    run = run_gpg(
        keys[0].home, *args, *extra, "--output", "-", "--sign", stdin=payload, faked_time=faked_time
    )
    return run.stdout


def clearsign(payload: bytes, key: GeneratedKey) -> bytes:
    """``gpg --clearsign``: the cleartext signature framework (not a signed message)."""
    args = ["--local-user", f"{key.signing_fingerprint}!", "--digest-algo", "SHA256"]
    return run_gpg(key.home, *args, "--output", "-", "--clearsign", stdin=payload).stdout


def detach_sign(payload: bytes, key: GeneratedKey, *, armor: bool = False) -> bytes:
    """``gpg --detach-sign``: a signature packet alone, without the data."""
    args = ["--local-user", f"{key.signing_fingerprint}!", "--digest-algo", "SHA256"]
    if armor:
        args.append("--armor")
    return run_gpg(key.home, *args, "--output", "-", "--detach-sign", stdin=payload).stdout


def store(payload: bytes, home: Path, *, compress: bool = False) -> bytes:
    """``gpg --store``: literal data and no signature; ``COMP{LIT}`` when ``compress``."""
    level = "6" if compress else "0"
    args = ["--compress-algo", "zip", "--compress-level", level, "--output", "-", "--store"]
    return run_gpg(home, *args, stdin=payload).stdout


def encrypt_symmetric(payload: bytes, home: Path) -> bytes:
    """``gpg --symmetric``: an SKESK + SEIPD message, encrypted and not signed."""
    args = ["--passphrase", "not-a-secret", "--output", "-", "--symmetric"]
    return run_gpg(home, *args, stdin=payload).stdout


# --- container signatures --------------------------------------------------------------


def atomic_document(
    digest: str,
    reference: str,
    *,
    creator: str | None = "sigpolicy tests",
    timestamp: int | None = 1_700_000_000,
) -> dict[str, Any]:
    """A strict "atomic container signature" document, to edit before signing.

    Tests that need a payload breaking one strictness rule change this dict (or write
    their own bytes) and pass ``json.dumps(...).encode()`` to :func:`sign`.
    """
    optional: dict[str, Any] = {}
    if creator is not None:
        optional["creator"] = creator
    if timestamp is not None:
        optional["timestamp"] = timestamp
    return {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": ATOMIC_TYPE,
        },
        "optional": optional,
    }


def atomic_payload(
    digest: str,
    reference: str,
    *,
    creator: str | None = "sigpolicy tests",
    timestamp: int | None = 1_700_000_000,
) -> bytes:
    """The payload containers/image writes: the document as compact JSON."""
    document = atomic_document(digest, reference, creator=creator, timestamp=timestamp)
    return json.dumps(document, separators=(",", ":")).encode()


def sign_atomic(
    key: GeneratedKey,
    digest: str,
    reference: str,
    *,
    faked_time: int | None = None,
) -> bytes:
    """A simple-signing blob for ``digest`` and ``reference``, signed with plain gpg."""
    return sign(atomic_payload(digest, reference), key, faked_time=faked_time)


def skopeo_standalone_sign(
    manifest: bytes, reference: str, key: GeneratedKey, workdir: Path
) -> bytes:
    """``skopeo standalone-sign``: what skopeo (through gpgme, ``GNUPGHOME``) really writes.

    skopeo looks the key up by the primary fingerprint; gpgme then signs with the key's
    signing-capable (sub)key.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    manifest_path = workdir / "manifest.json"
    manifest_path.write_bytes(manifest)
    output = workdir / "signature"
    proc = subprocess.run(
        [
            "skopeo",
            "standalone-sign",
            "--output",
            str(output),
            str(manifest_path),
            reference,
            key.fingerprint,
        ],
        capture_output=True,
        env=_env(key.home),
        timeout=_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise GpgCommandError(
            f"skopeo standalone-sign failed:\n{proc.stderr.decode(errors='replace')}"
        )
    return output.read_bytes()
