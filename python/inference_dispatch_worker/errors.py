"""The fence's errors (worker/errors.ts). A refused write carries the record that refused it (a plain
dict, {} when there is none), so that a caller can say why."""
import math


class FenceError(Exception):
    """Every error of the fence."""


class AcceptRefused(FenceError):
    """accept was refused. reason: ALREADY_ACCEPTED, IN_FLIGHT, ALREADY_COMPLETED or DEAD_LETTERED.
    drop_copy: True, delete the copy unprocessed; False (IN_FLIGHT), leave it: it is still held."""

    reason = None

    def __init__(self, message, record):
        super().__init__(message)
        self.record = record

    @property
    def drop_copy(self):
        return self.reason != "IN_FLIGHT"


class AlreadyAccepted(AcceptRefused):
    """Another copy holds the request (ALREADY_ACCEPTED: dropped), or this very copy does and this fence
    has not yet watched its lease unchanged for the lease's duration (IN_FLIGHT: not dropped; look again
    after retry_after seconds, through the same Fence)."""

    def __init__(self, record, same_copy, retry_after=None):
        request_id = record.get("request_id")
        if same_copy:
            message = (
                f"request {request_id}: this copy (token {record.get('acceptedToken')}) is held by {record.get('acceptedBy')}; "
                "its lease is taken over only after it was seen unchanged for its whole duration"
            )
        else:
            message = f"request {request_id}: already accepted by {record.get('acceptedBy')} with another copy (token {record.get('acceptedToken')})"
        super().__init__(message, record)
        self.same_copy = same_copy
        self.reason = "IN_FLIGHT" if same_copy else "ALREADY_ACCEPTED"
        self.retry_after = max(1, math.ceil(1 if retry_after is None else retry_after)) if same_copy else None


class AlreadyCompleted(AcceptRefused):
    reason = "ALREADY_COMPLETED"

    def __init__(self, record):
        super().__init__(f"request {record.get('request_id')}: already completed by {record.get('acceptedBy')} (token {record.get('acceptedToken')})", record)


class DeadLettered(AcceptRefused):
    reason = "DEAD_LETTERED"

    def __init__(self, record):
        why = f" ({record['reason']})" if record.get("reason") else ""
        super().__init__(f"request {record.get('request_id')}: dead-lettered{why}", record)


class NotHolder(FenceError):
    """complete, release or extend by a worker that does not hold the request (at the versions named)."""

    reason = "NOT_HOLDER"

    def __init__(self, request_id, token, worker_id, record):
        if record and record.get("acceptedToken"):
            message = f"request {request_id}: held by {record.get('acceptedBy')} (token {record.get('acceptedToken')}), not by {worker_id} (token {token})"
        else:
            message = f"request {request_id}: not accepted by anyone{'' if record else ' (no record)'}, so not by {worker_id}"
        super().__init__(message)
        self.request_id, self.token, self.worker_id, self.record = request_id, token, worker_id, record


class NoDispatchIdentity(FenceError):
    """A message from which no request_id (or no token) can be read."""


class InvalidRequestId(NoDispatchIdentity, ValueError):
    """A request_id the intake would refuse (core/request.ts): nothing is read or written."""

    def __init__(self, request_id, why):
        shown = repr(request_id if not isinstance(request_id, str) or len(request_id) <= 140 else request_id[:137] + "...")
        super().__init__(f"request_id {shown} is refused: {why}")
        self.request_id, self.why = request_id, why


class LeaseLost(FenceError):
    """The holder no longer holds its lease: a beat was refused (NOT_HOLDER: another worker took the copy
    over, or it was released or completed elsewhere), or no beat got through before the lease ran out by
    this holder's own clock (EXPIRED: a watcher may take it over)."""

    def __init__(self, request_id, reason, record=None):
        if reason == "NOT_HOLDER":
            holder = f" (now held by {record.get('acceptedBy')})" if record and record.get("acceptedBy") else ""
            message = f"request {request_id}: the lease is lost{holder}"
        else:
            message = f"request {request_id}: no heartbeat got through before the lease ran out; another worker may take it over"
        super().__init__(message)
        self.request_id, self.reason, self.record = request_id, reason, record


def accept_refusal(record, token):
    """Why accepting `token` is refused by this record, or None when it would accept (it changed between
    the refused write and the read: write again). Mirrors the accept condition, case by case."""
    if record.get("status") == "DEAD_LETTERED":
        return DeadLettered(record)
    if record.get("workStatus") == "COMPLETED":
        return AlreadyCompleted(record)
    if record.get("acceptedToken") is None:
        return None
    return AlreadyAccepted(record, record.get("acceptedToken") == token)


def holder_refusal(operation, request_id, token, worker_id, record, versions=None):
    """Why complete / release / extend by (token, worker_id) is refused by this record, or None."""
    if not record or record.get("acceptedToken") != token or record.get("acceptedBy") != worker_id:
        return NotHolder(request_id, token, worker_id, record)
    if operation == "release" and record.get("workStatus") == "COMPLETED":
        return AlreadyCompleted(record)
    if versions and record.get("leaseVersion") not in versions:
        return NotHolder(request_id, token, worker_id, record)
    return None
