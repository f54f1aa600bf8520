"""Hard caps that bound time and memory for any input (OPENPGP.md §1, §2, §7)."""

from __future__ import annotations

# A simple-signing payload is a few hundred bytes; the signature packet under 1.1 KiB even
# for RSA-8192. Anything this much larger is refused before any work is done.
MAX_MESSAGE_BYTES = 1024 * 1024
# Output of decompression, counted across every layer: the only defence against a bomb,
# because decompression necessarily runs before the signature is checked.
MAX_INFLATED_BYTES = 256 * 1024
MAX_MESSAGE_PACKETS = 16
MAX_PARTIAL_CHUNKS = 1024

MAX_KEYFILE_BYTES = 32 * 1024 * 1024
MAX_KEYFILE_PACKETS = 500_000
# Self-signatures checked per component; third-party ones are skipped without cryptography,
# so a flooded certificate costs parsing time only.
MAX_SELF_SIGNATURES = 64
MAX_COMPONENTS = 1024
MAX_MPI_BITS = 16384

# Tolerated clock skew for signatures that claim to come from the future.
CLOCK_SKEW_SECONDS = 300
