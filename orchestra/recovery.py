"""Retries with exponential backoff and jitter, and timeouts, around one call an agent makes.

Retries happen per call, inside the journal's record of that call (`orchestra.journal`): a
failed try is never recorded, the successful one is recorded once, and the calls the agent
finished before it are not made again. Only transient errors are retried (rate limits,
timeouts, dropped connections, 5xx): a retry cannot fix an invalid answer or a definition.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from langgraph._internal._retry import default_retry_on
from langgraph.errors import GraphBubbleUp
from langgraph.types import RetryPolicy

from orchestra.errors import CallTimeoutError, DefinitionError, OrchestraError

__all__ = ["RetryPolicy", "backoff", "is_transient", "retry_policy"]

T = TypeVar("T")

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429})
"""HTTP statuses (besides 5xx) that say "try again later", not "this request is wrong"."""

OnRetry = Callable[[int, float, BaseException], None]
"""Told `(next attempt number, delay in seconds, error)` before each retry."""


def is_transient(error: BaseException) -> bool:
    """True for errors a later try may not meet: rate limits, timeouts, connection errors
    and server errors (5xx) from OpenAI's client or httpx; False for everything else.

    It is the default `retry_on` of an agent's `retry`; pass it to your own `RetryPolicy`
    to extend it.
    """
    if isinstance(error, OrchestraError | GraphBubbleUp):
        return isinstance(error, CallTimeoutError)
    if isinstance(error, TimeoutError | ConnectionError):
        return True
    status = _status(error)
    if status is not None:
        return status >= 500 or status in _TRANSIENT_STATUS
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx comes with langchain-openai
        return False
    if isinstance(error, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return True
    try:
        import openai
    except ImportError:  # pragma: no cover - openai comes with langchain-openai
        return False
    return isinstance(error, openai.APIConnectionError)  # includes APITimeoutError


def _status(error: BaseException) -> int | None:
    """The HTTP status of an openai `APIStatusError` or an httpx `HTTPStatusError`."""
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_policy(retry: RetryPolicy | int | None, owner: str) -> RetryPolicy | None:
    """An agent's `retry` argument as a `RetryPolicy` (None: no retries).

    A number is the attempts in all, with LangGraph's default intervals; a policy keeping
    LangGraph's default `retry_on` gets `is_transient` instead, which never retries an
    invalid answer (LangGraph's default would).
    """
    if retry is None:
        return None
    if isinstance(retry, RetryPolicy):
        if retry.max_attempts < 1:
            raise DefinitionError(f"{owner}: retry.max_attempts must be at least 1.")
        if retry.retry_on is default_retry_on:
            return retry._replace(retry_on=is_transient)
        return retry
    if isinstance(retry, int) and not isinstance(retry, bool) and retry >= 1:
        return RetryPolicy(max_attempts=retry, retry_on=is_transient)
    raise DefinitionError(
        f"{owner}: retry must be a number of attempts (1 or more) or a "
        f"langgraph.types.RetryPolicy, not {retry!r}."
    )


def check_timeout(timeout: float | None, owner: str) -> float | None:
    """Validate a timeout in seconds."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise DefinitionError(f"{owner}: timeout must be a number of seconds above 0.")
    return float(timeout)


def backoff(policy: RetryPolicy, failures: int) -> float:
    """Seconds to wait after the `failures`-th failed try: exponential, capped at
    `max_interval`, plus up to half again at random with `jitter` (so clients that failed
    together do not retry together)."""
    growth = policy.backoff_factor ** (failures - 1)
    base = min(policy.max_interval, policy.initial_interval * growth)
    return base + random.uniform(0, base / 2) if policy.jitter else base


def _should_retry(policy: RetryPolicy, error: BaseException) -> bool:
    if not isinstance(error, Exception) or isinstance(error, GraphBubbleUp):
        return False
    retry_on = policy.retry_on
    if isinstance(retry_on, type):
        return isinstance(error, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(error, tuple(retry_on))
    return bool(retry_on(error))


def _retry_delay(
    policy: RetryPolicy | None, failures: int, error: Exception, on_retry: OnRetry
) -> float | None:
    """How long to wait before the next try (announced to `on_retry`); None when
    `error` must propagate: no policy, no tries left, or not a transient error."""
    if policy is None or failures >= policy.max_attempts or not _should_retry(policy, error):
        return None
    delay = backoff(policy, failures)
    on_retry(failures + 1, delay, error)
    return delay


def call_with_retry(
    call: Callable[[], T],
    policy: RetryPolicy | None,
    timeout: float | None,
    what: str,
    on_retry: OnRetry,
) -> T:
    """Run `call`, each try bounded by `timeout`, retrying transient errors with backoff."""
    failures = 0
    while True:
        try:
            return call() if timeout is None else _within(call, timeout, what)
        except Exception as error:
            failures += 1
            delay = _retry_delay(policy, failures, error, on_retry)
            if delay is None:
                raise
            time.sleep(delay)


async def acall_with_retry(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy | None,
    timeout: float | None,
    what: str,
    on_retry: OnRetry,
) -> T:
    """Async `call_with_retry`: the backoff and the timeout never block the event loop."""
    failures = 0
    while True:
        try:
            if timeout is None:
                return await call()
            try:
                return await asyncio.wait_for(call(), timeout)
            except TimeoutError as error:
                raise _timeout_error(what, timeout) from error
        except Exception as error:
            failures += 1
            delay = _retry_delay(policy, failures, error, on_retry)
            if delay is None:
                raise
            await asyncio.sleep(delay)


def _within(call: Callable[[], T], timeout: float, what: str) -> T:
    """Run a sync call in a daemon thread and stop waiting after `timeout` seconds.

    A thread cannot be stopped: a call that times out finishes (or hangs) in the
    background, and its result is thrown away, but the run goes on.
    """
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as error:  # handed to the waiting thread
            outcome["error"] = error

    worker = threading.Thread(target=target, name=f"orchestra-{what}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise _timeout_error(what, timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def _timeout_error(what: str, timeout: float) -> CallTimeoutError:
    return CallTimeoutError(
        f"{what} did not finish within {timeout:g} s. Raise the agent's timeout=, give it "
        "retry= to try again, or a fallback= (a faster model)."
    )
