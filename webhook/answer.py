"""One AdmissionReview body in, one full AdmissionReview out; never an exception.

For each request, in order:

1. A body larger than the limit, not JSON, or not a usable AdmissionReview is answered with
   a denial of code 400 (``malformed``) that echoes the uid when it could be read; it is
   logged and counted apart from denials of the object (STYLE.md 6).
2. Before the policy, trust store and source are loaded, the review is denied with code 503
   (``not-ready``), or admitted with a warning when the webhook is fail-open.
3. The admission decides (it keeps its own deadline). An unexpected exception inside it is
   logged with its traceback and answered with code 500 (``internal-error``): a denial, or
   an admission with a warning when fail-open. The worker goes on.
4. ``/validate`` never sends a patch; ``/mutate`` sends the admission's digest pins.
5. One log line per review (denials name container, image, scope and reason class), the
   review counted by decision, kind and reason, and its latency observed.

Everything about one review stays in this call's locals: nothing is shared between
concurrent reviews but the app's counters.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sigpolicy.admission.model import (
    CODE_UNAVAILABLE,
    AdmissionOutcome,
    MalformedReview,
    ReviewRequest,
    malformed_response,
    parse_review,
    review_response,
)
from webhook.state import WebhookState

log = logging.getLogger("sigpolicy.webhook")

CODE_INTERNAL = 500
NOT_READY = "not-ready"
INTERNAL_ERROR = "internal-error"


def too_large(limit: int) -> MalformedReview:
    return MalformedReview(f"the body is larger than {limit} bytes")


def decode_body(body: bytes, limit: int) -> Any:
    """The JSON document of a body; MalformedReview when it is too large or not JSON."""
    if len(body) > limit:
        raise too_large(limit)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedReview(f"the body is not JSON: {_first_line(exc)}") from None


def answer_malformed(state: WebhookState, error: MalformedReview, started: float) -> dict[str, Any]:
    """Step 1: the denial of a review that cannot be used."""
    state.metrics.malformed.inc()
    state.metrics.reviews.labels("denied", "", "malformed").inc()
    state.metrics.review_seconds.observe(time.perf_counter() - started)
    log.warning("malformed review uid=%s: %s", error.uid or "-", error)
    return malformed_response(error)


async def answer(
    state: WebhookState, body: bytes, *, mutate: bool, started: float | None = None
) -> dict[str, Any]:
    """The AdmissionReview to send back for ``body`` (steps 1-5)."""
    started = time.perf_counter() if started is None else started
    try:
        request = parse_review(decode_body(body, state.settings.max_review_bytes))
    except MalformedReview as error:
        return answer_malformed(state, error, started)
    outcome, label = await _decide(state, request)
    if not mutate and outcome.patch is not None:
        outcome = outcome._replace(patch=None)
    response = review_response(request.api_version, request.uid, outcome)
    if label in (NOT_READY, INTERNAL_ERROR) and "status" in response["response"]:
        response["response"]["status"]["reason"] = label
    elapsed = time.perf_counter() - started
    _count(state, request, outcome, label, elapsed)
    _log(request, outcome, label, elapsed)
    return response


async def _decide(state: WebhookState, request: ReviewRequest) -> tuple[AdmissionOutcome, str]:
    runtime = state.runtime
    fail_open = state.settings.fail_open
    if runtime is None:  # 2
        why = state.load_error or "still loading"
        message = f"sigpolicy is not ready (policy, trust store and source not loaded): {why}"
        return _unsure(CODE_UNAVAILABLE, message, fail_open), NOT_READY
    try:  # 3
        outcome = await runtime.admission.review(request)
    except Exception as exc:
        log.exception("review uid=%s: internal error", request.uid)
        message = f"sigpolicy failed to decide: {type(exc).__name__}: {_first_line(exc)}"
        return _unsure(CODE_INTERNAL, message, fail_open), INTERNAL_ERROR
    return outcome, str(outcome.reason) if outcome.reason is not None else "none"


def _unsure(code: int, message: str, fail_open: bool) -> AdmissionOutcome:
    if fail_open:
        warning = f"sigpolicy: {message}; admitted (fail-open)"
        return AdmissionOutcome(True, code, None, message, (warning,), {}, None, ())
    return AdmissionOutcome(False, code, None, message, (), {}, None, ())


def _count(
    state: WebhookState,
    request: ReviewRequest,
    outcome: AdmissionOutcome,
    label: str,
    elapsed: float,
) -> None:
    metrics = state.metrics
    decision = "allowed" if outcome.allowed else "denied"
    metrics.reviews.labels(decision, request.kind, label).inc()
    metrics.review_seconds.observe(elapsed)
    if outcome.allowed:
        modes = {
            c.decision.mode
            for c in outcome.containers
            if c.decision.allowed and not c.decision.would_allow
        }
        for mode in sorted(modes):
            metrics.would_deny.labels(mode).inc()


def _log(request: ReviewRequest, outcome: AdmissionOutcome, label: str, elapsed: float) -> None:
    where = "/".join(p for p in (request.namespace, request.name) if p) or "-"
    head = (
        f"review uid={request.uid} kind={request.kind or '-'} object={where}"
        f" op={request.operation} dryRun={str(request.dry_run).lower()}"
        f" decision={'allowed' if outcome.allowed else 'denied'} code={outcome.code}"
        f" reason={label} ms={elapsed * 1e3:.2f}"
    )
    if not outcome.allowed:
        log.warning("%s: %s", head, outcome.message)
    elif outcome.warnings or outcome.audit_annotations:
        notes = [*outcome.warnings, *outcome.audit_annotations.values()]
        log.info("%s: %s", head, "; ".join(notes))
    elif outcome.skipped is not None:
        log.debug("%s skipped=%s", head, outcome.skipped)
    else:
        log.info("%s", head)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
