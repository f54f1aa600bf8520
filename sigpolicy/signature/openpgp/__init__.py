"""The native OpenPGP signed-message verifier, on `cryptography` primitives.

Why our own: no well-kept Python library verifies OpenPGP fast enough (PGPy is unmaintained,
pysequoia's RSA is about ten times slower than `cryptography`). The implementation follows
``shared/design/OPENPGP.md`` section by section; each module names the sections it covers.

- :mod:`.armor`: ASCII armor (§8).
- :mod:`.packets`: packet framing (§1).
- :mod:`.inflate`: bounded decompression (§2).
- :mod:`.sigpacket`: signature and one-pass signature packets, subpackets (§4).
- :mod:`.keymaterial`: key packets, fingerprints and the `cryptography` mapping (§5, §6).
- :mod:`.certificate`: transferable public keys and their self-signatures (§7).
- :mod:`.keyring`: key files to an index of certificates.
- :mod:`.message`: the message grammar (§1, §3).
- :mod:`.verifier`: the verification algorithm (§9).
"""
