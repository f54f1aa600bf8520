"""Bodies read under a size cap, decoded from gzip/deflate with the cap on the decoded size.

1. ``Content-Length`` above the cap (for an identity body) fails before reading anything.
2. Raw chunks are read one at a time and decoded incrementally, each decompression step
   asked for no more than the bytes still allowed (``max_length``), so a gzip bomb never
   inflates past the cap in memory.
3. One byte over the cap fails at once; the connection is closed by the caller.

An endless body is bounded by the caller's deadline (``asyncio.timeout`` around the read).
"""

from __future__ import annotations

import zlib

import httpx2

from sigpolicy.sources.registry.errors import RegistryProtocolError

_GZIP_WBITS = 16 + zlib.MAX_WBITS
# "deflate" in HTTP is zlib-wrapped; servers that send raw deflate exist, and 32 + MAX_WBITS
# only autodetects gzip/zlib, so a raw stream is retried with negative wbits.
_ZLIB_WBITS = zlib.MAX_WBITS


class _Decoder:
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._wbits = _GZIP_WBITS if encoding == "gzip" else _ZLIB_WBITS
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes, allowed: int) -> tuple[bytes, bool]:
        """Decoded bytes (at most ``allowed + 1``) and whether more would have come."""
        out = bytearray()
        pending = data
        while pending:
            try:
                chunk = self._inflater.decompress(pending, allowed + 1 - len(out))
            except zlib.error:
                if self.encoding == "deflate" and not self._started:
                    self._wbits = -zlib.MAX_WBITS
                    self._inflater = zlib.decompressobj(self._wbits)
                    self._started = True
                    continue
                raise
            self._started = True
            out += chunk
            if len(out) > allowed:
                return bytes(out), True
            if self._inflater.unconsumed_tail:
                pending = self._inflater.unconsumed_tail
            elif self._inflater.eof and self._inflater.unused_data and self.encoding == "gzip":
                pending = self._inflater.unused_data  # a further gzip member
                self._inflater = zlib.decompressobj(self._wbits)
            else:
                pending = b""
        return bytes(out), False


async def read_capped(response: httpx2.Response, cap: int, *, host: str, what: str) -> bytes:
    """The whole body of ``response`` (opened with ``stream=True``), at most ``cap`` bytes."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise RegistryProtocolError(host, f"{what} from {host}: unsupported content encoding")
    too_big = RegistryProtocolError(host, f"{what} from {host} is larger than {cap} bytes")
    decoder = None if encoding in ("identity", "") else _Decoder(encoding.removeprefix("x-"))
    # 1.
    if decoder is None:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise too_big
    body = bytearray()
    # Compressed data is at most a little larger than its content; junk after the end of a
    # deflate stream would otherwise be read (and dropped) for as long as it comes.
    raw_cap = cap + cap // 16 + 65536
    raw_total = 0
    # 2.
    async for raw in response.aiter_raw():
        raw_total += len(raw)
        if raw_total > raw_cap:
            raise too_big
        if decoder is None:
            body += raw
        else:
            try:
                decoded, _more = decoder.feed(raw, cap - len(body))
            except zlib.error:
                raise RegistryProtocolError(
                    host, f"{what} from {host}: corrupt {encoding} content"
                ) from None
            body += decoded
        # 3.
        if len(body) > cap:
            raise too_big
    return bytes(body)
