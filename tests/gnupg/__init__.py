"""The GnuPG backend (sigpolicy.signature.gnupg_backend) against real gpg keys and the corpus."""
