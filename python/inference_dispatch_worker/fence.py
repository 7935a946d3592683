"""The dispatch fence (worker/fence.ts, persistence.ts, watch.ts): a worker accepts a request with ONE
conditional UpdateItem on the request's idempotency record before working on it, and drops a copy whose
acceptance fails.

    accept   -> the worker holds the request for a lease (a duration), written with a fresh random version
    extend   -> heartbeat: a new version, the lease counts again from now
    complete -> done: every other copy, and this one redelivered, is dropped from now on
    release  -> processing failed: the next copy, or this one redelivered, may accept at once

No decision compares two machines' clocks: the same copy's lease is taken over only by a Fence that has
itself watched its version unchanged for the lease's duration by its own monotonic clock, with a write
conditional on that version; the holder counts its lease from before it sent its write. acceptedAt,
acceptedUntil, completedAt and expiresAt are written for people and the TTL only.
"""
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from .errors import AcceptRefused, AlreadyAccepted, FenceError, accept_refusal, holder_refusal
from .record import ACCEPTED, COMPLETED, DEAD_LETTERED, RECORD_TTL_SECONDS, check_request_id, parse_item

NAMES = {
    "#status": "status",
    "#acceptedToken": "acceptedToken",
    "#acceptedBy": "acceptedBy",
    "#acceptedAt": "acceptedAt",
    "#acceptedUntil": "acceptedUntil",
    "#workStatus": "workStatus",
    "#completedAt": "completedAt",
    "#expiresAt": "expiresAt",
    "#leaseVersion": "leaseVersion",
    "#leaseSeconds": "leaseSeconds",
}

# The accept condition: all three cases must hold. A comparison with a missing attribute is false in
# DynamoDB, hence the attribute_not_exists(x) OR ... forms.
NOT_DEAD_LETTERED = "(attribute_not_exists(#status) OR #status <> :deadLettered)"
NOT_COMPLETED = "(attribute_not_exists(#workStatus) OR #workStatus <> :completed)"
FREE = "attribute_not_exists(#acceptedToken)"
HOLDER = "#acceptedToken = :token AND #acceptedBy = :worker"
ACCEPT_SET = (
    "SET #acceptedToken = :token, #acceptedBy = :worker, #acceptedAt = :now, #acceptedUntil = :until, #leaseVersion = :version, "
    "#leaseSeconds = :leaseSeconds, #workStatus = :accepted, #expiresAt = :expiresAt"
)
ACCEPT = (ACCEPT_SET, f"{NOT_DEAD_LETTERED} AND {NOT_COMPLETED} AND {FREE}")
COMPLETE = ("SET #workStatus = :completed, #completedAt = :now", HOLDER)
RELEASE = (
    "REMOVE #acceptedToken, #acceptedBy, #acceptedAt, #acceptedUntil, #leaseVersion, #leaseSeconds, #workStatus",
    f"{HOLDER} AND {NOT_COMPLETED}",
)
EXTEND = ("SET #acceptedUntil = :until, #leaseVersion = :version, #leaseSeconds = :leaseSeconds", HOLDER)

# Writes tried in one accept when the record changes under it.
ATTEMPTS = 3
# Sightings a fence keeps at most (forgetting one only makes its watch start again).
MAX_SIGHTINGS = 10_000


def take_over_expression(seen):
    """The accept write, on the condition that the same copy still holds the lease seen, unchanged."""
    if "leaseVersion" in seen:
        version = "#leaseVersion = :seenVersion"
    else:
        # An acceptance written without a version (an older worker): its holder and acceptedUntil as read.
        version = " AND ".join(
            [
                "attribute_not_exists(#leaseVersion)",
                "#acceptedBy = :seenBy" if "acceptedBy" in seen else "attribute_not_exists(#acceptedBy)",
                "#acceptedUntil = :seenUntil" if "acceptedUntil" in seen else "attribute_not_exists(#acceptedUntil)",
            ]
        )
    return ACCEPT_SET, f"{NOT_DEAD_LETTERED} AND {NOT_COMPLETED} AND #acceptedToken = :token AND ({version})"


def seen_version(record):
    """What identifies one lease: its version, or for an acceptance without one, who held it until when."""
    if record.get("leaseVersion") is not None:
        return {"leaseVersion": record["leaseVersion"]}
    return {k: record[k] for k in ("acceptedBy", "acceptedUntil") if record.get(k) is not None}


def _lease_seconds_of(record, fallback):
    if record.get("leaseSeconds") is not None:
        return record["leaseSeconds"]
    at, until = record.get("acceptedAt"), record.get("acceptedUntil")
    if at is not None and until is not None and until >= at:
        return max(until - at, fallback)  # one clock's two readings: a duration
    return fallback


@dataclass
class Sighting:
    token: str
    seen: dict
    lease_seconds: float
    since: float  # monotonic seconds, after the read that returned this version


class LeaseWatch:
    """The taker's side of a lease (worker/watch.ts): what this fence has watched, by its own clock."""

    def __init__(self, monotonic):
        self._monotonic = monotonic
        self._sightings = {}
        self._lock = threading.Lock()

    def look(self, request_id, token, record, fallback_lease_seconds):
        now = self._monotonic()
        seen = seen_version(record)
        with self._lock:
            before = self._sightings.pop(request_id, None)
            if before is not None and before.token == token and before.seen == seen:
                sighting = before
            else:
                sighting = Sighting(token, seen, _lease_seconds_of(record, fallback_lease_seconds), now)
            self._sightings[request_id] = sighting
            if len(self._sightings) > MAX_SIGHTINGS:
                del self._sightings[next(iter(self._sightings))]
        return sighting

    def ripe(self, request_id, token):
        with self._lock:
            sighting = self._sightings.get(request_id)
        return sighting if sighting is not None and sighting.token == token and self.remaining(sighting) <= 0 else None

    def remaining(self, sighting):
        return sighting.since + sighting.lease_seconds - self._monotonic()

    def forget(self, request_id):
        with self._lock:
            self._sightings.pop(request_id, None)


@dataclass
class Lease:
    """An acceptance as its holder sees it. versions: the lease versions the holder may have written last
    (more than one while a heartbeat's answer is unknown); complete, release and extend hold only on one of
    them (none given: on any). valid_until: the fence's monotonic seconds before which the holder may trust
    its lease, counted from before its write was sent, so it ends before any watcher may take it over."""

    request_id: str
    token: str
    worker_id: str
    versions: list = field(default_factory=list)
    lease_seconds: int = 0
    valid_until: float = 0.0
    record: dict = field(default_factory=dict)


def _names(*expressions):
    text = " ".join(expressions)
    return {k: v for k, v in NAMES.items() if _used(k, text)}


def _used(key, text):
    return re.search(re.escape(key) + r"\b", text) is not None


class Fence:
    """One per worker process (its watch lives here): Fence(boto3.client('dynamodb', region_name='us-east-1'), TABLE).

    clock: epoch seconds for the record's timestamps only; monotonic: seconds that never go back, what
    every lease decision is timed by."""

    def __init__(self, dynamodb, table_name, ttl_seconds=RECORD_TTL_SECONDS, clock=time.time, monotonic=time.monotonic):
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.monotonic = monotonic
        self.watch = LeaseWatch(monotonic)
        # Acceptances sent whose answer never came (request_id -> version -> (token, worker_id, sent_at)):
        # a record found at one of them holds this fence's own lease, written before the answer was lost.
        self._unanswered = {}
        self._lock = threading.Lock()

    def _now(self, now):
        return int(self.clock()) if now is None else int(now)

    # -- accept ---------------------------------------------------------------------------------------

    def accept(self, request_id, token, worker_id, lease_seconds, now=None):
        """Accepts the request for this copy and returns the Lease, or raises AlreadyAccepted
        (ALREADY_ACCEPTED: another copy holds it; IN_FLIGHT: this copy is held and this fence has not yet
        watched its lease unchanged for its duration, with retry_after), AlreadyCompleted, DeadLettered, or
        InvalidRequestId. An absent record is accepted (and created)."""
        _text("token", token)
        _text("worker_id", worker_id)
        if not isinstance(lease_seconds, int) or isinstance(lease_seconds, bool) or lease_seconds <= 0:
            raise TypeError(f"accept: lease_seconds must be a positive whole number, not {lease_seconds!r}")
        check_request_id(request_id)
        now = self._now(now)
        attempt = 0
        while True:
            attempt += 1
            ripe = self.watch.ripe(request_id, token)
            version = uuid.uuid4().hex
            sent_at = self.monotonic()  # before the write: the holder's lease ends before any watcher's wait
            with self._lock:
                self._unanswered.setdefault(request_id, {})[version] = (token, worker_id, sent_at)
            try:
                record = self._accept_write(request_id, token, worker_id, now, lease_seconds, version, ripe.seen if ripe else None)
            except AlreadyAccepted as refused:
                if not refused.same_copy:
                    self._forget(request_id)
                    raise
                own = self._own_lease(refused.record, token, worker_id)
                if own is not None:
                    self._forget(request_id)
                    return Lease(request_id, token, worker_id, [own[0]], lease_seconds, own[1] + lease_seconds, refused.record)
                # Read back after the write that refused: the watch of this version starts no earlier than now.
                sighting = self.watch.look(request_id, token, refused.record, lease_seconds)
                remaining = self.watch.remaining(sighting)
                if remaining <= 0 and attempt < ATTEMPTS:
                    continue
                raise AlreadyAccepted(refused.record, True, max(remaining, 0) + 1) from None
            except AcceptRefused:
                self._forget(request_id)
                raise
            self._forget(request_id)
            return Lease(request_id, token, worker_id, [version], lease_seconds, sent_at + lease_seconds, record)

    def _forget(self, request_id):
        self.watch.forget(request_id)
        with self._lock:
            self._unanswered.pop(request_id, None)

    def _own_lease(self, record, token, worker_id):
        version = record.get("leaseVersion")
        if not version or record.get("acceptedToken") != token or record.get("acceptedBy") != worker_id:
            return None
        with self._lock:
            write = self._unanswered.get(record.get("request_id"), {}).get(version)
        if write is None or write[0] != token or write[1] != worker_id:
            return None
        return version, write[2]

    def _accept_write(self, request_id, token, worker_id, now, lease_seconds, version, seen):
        for attempt in range(1, ATTEMPTS + 1):
            update, condition = take_over_expression(seen) if seen else ACCEPT
            values = {
                ":token": {"S": token},
                ":worker": {"S": worker_id},
                ":now": {"N": str(now)},
                ":until": {"N": str(now + lease_seconds)},
                ":version": {"S": version},
                ":leaseSeconds": {"N": str(lease_seconds)},
                ":accepted": {"S": ACCEPTED},
                ":expiresAt": {"N": str(now + self.ttl_seconds)},
                ":deadLettered": {"S": DEAD_LETTERED},
                ":completed": {"S": COMPLETED},
            }
            if seen:
                if "leaseVersion" in seen:
                    values[":seenVersion"] = {"S": seen["leaseVersion"]}
                if "acceptedBy" in seen:
                    values[":seenBy"] = {"S": seen["acceptedBy"]}
                if "acceptedUntil" in seen:
                    values[":seenUntil"] = {"N": str(seen["acceptedUntil"])}
            ok, record = self._update(request_id, update, condition, values)
            if ok:
                return record
            if record is None:
                seen = None  # refused, yet no record: deleted in between; write again
                continue
            # The same copy held at another version than the one watched is IN_FLIGHT: the watch starts again.
            refusal = accept_refusal(record, token)
            if refusal is not None:
                raise refusal
            seen = None  # free after all (released in between): a plain acceptance
        raise FenceError(f"request {request_id}: acceptance refused {ATTEMPTS} times by a record that keeps changing")

    # -- the holder's writes --------------------------------------------------------------------------

    def complete(self, lease, now=None):
        """Marks the request COMPLETED; only its holder may, on one of its versions (NotHolder otherwise)."""
        return self._holder_write("complete", lease, COMPLETE, {":completed": {"S": COMPLETED}, ":now": {"N": str(self._now(now))}})

    def release(self, lease):
        """Gives the request up after a failure, so that another copy or a redelivery may accept it at once."""
        self._holder_write("release", lease, RELEASE, {":completed": {"S": COMPLETED}})

    def extend(self, lease, seconds=None, now=None, new_version=None):
        """Heartbeat: a new version, the lease counts `seconds` (default: its length) again from now.
        Updates lease (versions, lease_seconds, valid_until); raises NotHolder when it was lost."""
        seconds = lease.lease_seconds if seconds is None else seconds
        if not isinstance(seconds, int) or seconds <= 0:
            raise TypeError(f"extend: seconds must be a positive whole number, not {seconds!r}")
        now = self._now(now)
        version = new_version or uuid.uuid4().hex
        sent_at = self.monotonic()
        values = {":until": {"N": str(now + seconds)}, ":version": {"S": version}, ":leaseSeconds": {"N": str(seconds)}}
        record = self._holder_write("extend", lease, EXTEND, values)
        lease.versions, lease.lease_seconds, lease.valid_until, lease.record = [version], seconds, sent_at + seconds, record
        return record

    def get(self, request_id):
        """The record as it stands (a plain dict), or None."""
        check_request_id(request_id)
        item = self.dynamodb.get_item(TableName=self.table_name, Key={"request_id": {"S": request_id}}, ConsistentRead=True).get("Item")
        return parse_item(item) if item else None

    def _holder_write(self, operation, lease, expression, extra):
        check_request_id(lease.request_id)
        update, condition = expression
        values = {":token": {"S": lease.token}, ":worker": {"S": lease.worker_id}, **extra}
        versions = list(lease.versions or [])
        if versions:
            names = [f":v{i}" for i in range(len(versions))]
            condition = f"{condition} AND #leaseVersion IN ({', '.join(names)})"
            values.update({name: {"S": v} for name, v in zip(names, versions)})
        ok, record = self._update(lease.request_id, update, condition, values)
        if ok:
            return record
        refusal = holder_refusal(operation, lease.request_id, lease.token, lease.worker_id, record, versions)
        raise refusal or FenceError(f"request {lease.request_id}: {operation} refused, yet the record read back names {lease.worker_id} as its holder")

    def _update(self, request_id, update, condition, values):
        """One conditional UpdateItem: (True, record as written) or (False, record as it stands or None)."""
        text = f"{update} {condition}"
        try:
            answer = self.dynamodb.update_item(
                TableName=self.table_name,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names(text),
                ExpressionAttributeValues={k: v for k, v in values.items() if _used(k, text)},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return True, parse_item(answer.get("Attributes") or {"request_id": {"S": request_id}})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # DynamoDB returns the item with the error; where it does not (dynalite), a consistent read.
            item = error.response.get("Item")
            return False, parse_item(item) if item else self.get(request_id)


def _text(name, value):
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty string, not {value!r}")
