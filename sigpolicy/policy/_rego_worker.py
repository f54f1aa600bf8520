"""Blocking engine calls, run in a small thread pool and bounded in time.

Both Rego engines block (opa-python-client is built on ``requests``; regopy calls native
code). :class:`BoundedWorkers` runs them off the event loop and gives up waiting after the
timeout. A thread cannot be killed: a call that overran keeps its worker until it returns
(the OPA adapter's own socket timeout ends it; a runaway Rego evaluation ends when it ends).
The pool is small and fixed, so overrunning calls cannot pile up threads: later calls wait
in the queue, run out of time there, and are cancelled before they start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable

from sigpolicy.policy._rego_answer import EngineAnswer, Failed
from sigpolicy.reasons import Reason


def timeout_words(timeout: float) -> str:
    return f"no answer within {timeout} s"


class BoundedWorkers:
    """A fixed pool of ``workers`` threads whose calls are awaited at most ``timeout`` s."""

    def __init__(self, name: str, workers: int) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=name
        )

    async def run(
        self, call: Callable[[], EngineAnswer], timeout: float, label: str
    ) -> EngineAnswer:
        """The answer of ``call()``, or a :class:`Failed` one; never raises but on cancel.

        ``label`` names the engine in a timeout's cause (``OPA at http://...``).
        """
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor, call)
        except RuntimeError:
            return Failed(Reason.POLICY_DENIED, "the Rego evaluator is closed")
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return Failed(Reason.TIMEOUT, f"{label}: {timeout_words(timeout)}")
        except Exception as exc:  # the adapters catch their own; fail closed on the rest
            return Failed(Reason.POLICY_DENIED, f"the Rego engine failed: {_words(exc)}")

    def run_blocking(
        self, call: Callable[[], EngineAnswer], timeout: float, label: str
    ) -> EngineAnswer:
        """As :meth:`run`, for callers outside an event loop (loading a policy)."""
        future = self._executor.submit(call)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return Failed(Reason.TIMEOUT, f"{label}: {timeout_words(timeout)}")
        except Exception as exc:
            return Failed(Reason.POLICY_DENIED, f"the Rego engine failed: {_words(exc)}")

    def close(self) -> None:
        """Refuse new calls and drop queued ones; a running call finishes in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _words(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
