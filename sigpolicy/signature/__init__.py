"""Signature formats: OpenPGP simple signing (native and GnuPG), cosign, and the payload."""
