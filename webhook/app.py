"""The FastAPI application of the admission webhook.

| route | answers |
|---|---|
| ``POST /validate`` | a full AdmissionReview (HTTP 200 whatever the decision; see :mod:`.answer`) |
| ``POST /mutate`` | the same decision plus the digest pins as a JSON patch (only with ``mutate``) |
| ``GET /healthz`` | 200 while the process serves |
| ``GET /readyz`` | 503 until policy, trust store and source are loaded and synced, then 200 |
| ``GET /metrics`` | Prometheus text format, from this app's own registry |

A body is read up to the review size limit and no further: a larger one is answered as a
malformed review without being buffered whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response

from sigpolicy.admission.model import MalformedReview
from webhook.answer import answer, answer_malformed, too_large
from webhook.metrics import CONTENT_TYPE
from webhook.state import WebhookState

JSON = "application/json"


def create_app(state: WebhookState) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(state.run(), name="sigpolicy-webhook-state")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await state.close()

    app = FastAPI(
        title="sigpolicy admission webhook",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    async def review(request: Request, *, mutate: bool) -> Response:
        limit = state.settings.max_review_bytes
        try:
            body = await read_bounded(request, limit, state.settings.body_seconds)
        except MalformedReview as error:
            return _json(answer_malformed(state, error, time.perf_counter()))
        return _json(await answer(state, body, mutate=mutate))

    @app.post("/validate")
    async def validate(request: Request) -> Response:
        return await review(request, mutate=False)

    if state.settings.mutate:

        @app.post("/mutate")
        async def mutate(request: Request) -> Response:
            return await review(request, mutate=True)

    @app.get("/healthz")
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        ready, details = state.readiness()
        return _json(details, status=200 if ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(state.metrics.exposition(), media_type=CONTENT_TYPE)

    return app


async def read_bounded(request: Request, limit: int, seconds: float) -> bytes:
    """The body, or MalformedReview as soon as it is known to exceed ``limit`` bytes or
    ``seconds`` have passed without all of it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise MalformedReview(f"the body did not arrive within {seconds:g} s") from None
    return b"".join(chunks)


def _json(document: Any, *, status: int = 200) -> Response:
    body = json.dumps(document, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type=JSON)
