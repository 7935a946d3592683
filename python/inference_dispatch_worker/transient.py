"""A transient acceptance failure (a throttle, DynamoDB unreachable, a timeout, a 5xx) must not cost the
copy one of its receives: left to its visibility timeout, each such failure spends one of the queue's
maxReceiveCount (3) receives, and with a crash on top the copy reaches the regional DLQ unprocessed. So
Worker.handle keeps the copy (its visibility extended over the retry window) and tries the acceptance
again in process, with capped exponential backoff and full jitter, for a bounded time (default: the
lease); only past that bound is the copy handed back (visibility 0) and the error raised. As
worker/transient.ts (isTransientAcceptError, retryTransient), with the same constants.

Retrying is safe: it goes through the same Fence, which knows the versions it wrote whose answer was lost
(fence.py `_unanswered`), so an acceptance applied before its answer was lost is found as its own. Errors
that are not transient (a refusal, an invalid request_id, validation) are never retried here."""
import math
import random as _random
import time
from dataclasses import dataclass
from typing import Callable, Optional

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from .errors import FenceError

THROTTLING = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "TransactionInProgressException",
})
UNAVAILABLE = frozenset({
    "InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable", "ServiceUnavailableException",
    "TimeoutError", "RequestTimeout", "RequestTimeoutException",
})
# botocore's connection and timeout errors (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
# ConnectionClosedError and their kin), and the standard library's own.
NETWORK = (BotocoreConnectionError, HTTPClientError, EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionError, TimeoutError)


def is_transient_accept_error(error):
    """True for an error worth trying the acceptance again for: a throttle, a server error (5xx or 429), a
    timeout, a connection that failed. False for everything the fence itself decided (a refusal, an invalid
    or missing request_id: FenceError), for an input error (TypeError, ValueError), and for any other
    service answer (validation, access denied, a missing table, a failed condition)."""
    seen = set()
    while isinstance(error, BaseException) and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (FenceError, TypeError, ValueError)):
            return False
        if isinstance(error, ClientError):
            response = error.response or {}
            code = (response.get("Error") or {}).get("Code") or ""
            if code in THROTTLING or code in UNAVAILABLE:
                return True
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            return isinstance(status, int) and (status >= 500 or status == 429)
        if isinstance(error, NETWORK):
            return True
        error = error.__cause__
    return False


@dataclass
class TransientRetry:
    """How Worker.handle retries a transient acceptance failure (worker/transient.ts TransientRetryOptions).

    max_seconds: retry for at most this long, counted from the first failure; None: the copy's lease; 0: no
    retry (the copy is handed back at once). base_seconds: the first backoff's ceiling (0.1, TS baseMs 100);
    cap_seconds: no backoff above this (5, TS capMs 5000); margin_seconds: visibility beyond the retry
    window while retrying (30). random: [0, 1), the jitter's draw; sleep: waits (default: the worker's stop
    event while it runs, else time.sleep); monotonic: seconds that never go back (default: the fence's)."""

    max_seconds: Optional[float] = None
    base_seconds: float = 0.1
    cap_seconds: float = 5.0
    margin_seconds: int = 30
    random: Callable[[], float] = _random.random
    sleep: Optional[Callable[[float], None]] = None
    monotonic: Optional[Callable[[], float]] = None


def retry_transient(attempt, options, default_max_seconds, keep_visible=None, on_give_up=None, on_retry=None, stopped=None):
    """Runs attempt() until it succeeds, raises an error that is not transient (raised at once), or the bound
    has passed since the first transient failure (the last error is raised; on_give_up(error) runs first:
    hand the copy back). While retrying, keep_visible(seconds) is asked to keep the copy invisible for the
    rest of the window plus the margin (its errors are ignored: the copy may then be received elsewhere,
    and the fence still decides). stopped(): True ends the retrying at once (a worker that stops)."""
    monotonic = options.monotonic or time.monotonic
    sleep = options.sleep or time.sleep
    max_seconds = max(0.0, float(default_max_seconds if options.max_seconds is None else options.max_seconds))
    base = max(0.001, float(options.base_seconds))
    cap = max(base, float(options.cap_seconds))
    margin = max(1, math.ceil(options.margin_seconds))
    deadline = None
    visible_until = float("-inf")
    failures = 0
    while True:
        try:
            return attempt()
        except Exception as error:  # noqa: BLE001 - classified below; anything else raised as it was
            if not is_transient_accept_error(error):
                raise
            now = monotonic()
            if deadline is None:
                deadline = now + max_seconds
            left = deadline - now
            if left <= 0 or (stopped is not None and stopped()):
                if on_give_up is not None:
                    try:
                        on_give_up(error)
                    except Exception:  # noqa: BLE001 - the copy then comes back after its visibility
                        pass
                raise
            failures += 1
            delay = min(left, options.random() * min(cap, base * 2 ** min(failures - 1, 30)))
            if on_retry is not None:
                on_retry(error, failures, delay)
            # Keep the copy: its visibility covers the rest of the window plus the margin (extended again when short).
            if keep_visible is not None and visible_until - now < delay + margin / 2:
                seconds = math.ceil(left) + margin
                try:
                    keep_visible(seconds)
                    visible_until = now + seconds
                except Exception:  # noqa: BLE001 - not extended: the copy may come back elsewhere; the fence decides
                    pass
            sleep(delay)
