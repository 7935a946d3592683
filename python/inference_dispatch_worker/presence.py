"""A fleet that reports itself (core/presence.ts, worker/presence.ts): each worker keeps an entry in its
region's presence item of the idempotency table, so that the dispatcher counts the region's live workers
and stealing workers weigh its backlog per worker.

The item is `#presence#<region>` (key attribute request_id); one attribute per worker, `w_<worker_id>` =
its lease end (epoch ms). Each renewal is ONE UpdateItem: `SET w_<id> = now + lease` and `REMOVE` the
entries the previous renewal's ALL_NEW image showed past their lease for PRESENCE forget_after_seconds,
each on the condition that it still holds the value seen; should one have been renewed meanwhile (a
worker come back under the same id), the renewal is written again at once without the removals.
Renewals run on a daemon thread every heartbeat; an error goes to on_error and the next beat tries again:
it is never raised into the worker's job. stop() removes the worker's own entry.

The lease end is advice for counting, never a safety decision: a skewed clock only makes a worker count
a little longer or shorter."""
import logging
import math
import re
import threading
import time

from botocore.exceptions import ClientError

log = logging.getLogger("inference_dispatch_worker")

# core/presence.ts PRESENCE
PRESENCE = {
    # How often a worker renews its entry.
    "heartbeat_seconds": 20,
    # How long an entry counts without a renewal: three heartbeats, so one lost write does not drop it.
    "lease_seconds": 60,
    # Entries past their lease for this long are removed by the next renewal that sees them.
    "forget_after_seconds": 600,
}
PRESENCE_ATTRIBUTE_PREFIX = "w_"
_WORKER_ID = re.compile(r"[A-Za-z0-9._:-]+")


def presence_key(region):
    """The presence item of a region ('#' cannot start a request_id)."""
    return f"#presence#{region}"


def check_worker_id(worker_id):
    """core/presence.ts workerIdSchema: letters, digits and - _ . : (a hostname, an instance id, a UUID), 1-100."""
    if not isinstance(worker_id, str) or not worker_id:
        raise ValueError("worker_id must not be empty")
    if len(worker_id) > 100:
        raise ValueError("worker_id must be at most 100 characters")
    if not _WORKER_ID.fullmatch(worker_id):
        raise ValueError("worker_id may hold only letters, digits and . _ : -")
    return worker_id


def presence_attribute(worker_id):
    return PRESENCE_ATTRIBUTE_PREFIX + check_worker_id(worker_id)


def _number(value):
    if isinstance(value, dict):  # a DynamoDB attribute value
        value = value.get("N", value.get("S"))
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def leases_from_attributes(attributes):
    """Lease ends (epoch ms) by worker id from an item's attributes (plain numbers or DynamoDB values); others ignored."""
    leases = {}
    for name, value in (attributes or {}).items():
        if not name.startswith(PRESENCE_ATTRIBUTE_PREFIX):
            continue
        until = _number(value)
        if until is not None:
            leases[name[len(PRESENCE_ATTRIBUTE_PREFIX):]] = until
    return leases


def count_presence(leases, now_ms):
    """{'live', 'lapsed', 'live_until'} of a region's leases at now_ms (live_until None when none is live)."""
    live = lapsed = 0
    live_until = None
    for until in leases.values():
        if until > now_ms:
            live += 1
            live_until = until if live_until is None else max(live_until, until)
        else:
            lapsed += 1
    return {"live": live, "lapsed": lapsed, "live_until": live_until}


def forgettable(leases, now_ms, forget_after_ms=PRESENCE["forget_after_seconds"] * 1000):
    """Worker ids a renewal at now_ms may remove: past their lease for longer than forget_after_ms."""
    return [worker for worker, until in leases.items() if until + forget_after_ms <= now_ms]


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"presence: {name} must be a number > 0, got {value!r}")
    return value


class PresenceReporter:
    """PresenceReporter(dynamodb, table_name, region, worker_id).start(); on a clean shutdown stop().

    dynamodb: a boto3 DynamoDB client of the home region (the idempotency table). heartbeat_seconds,
    lease_seconds, forget_after_seconds: PRESENCE's by default. clock: wall clock in seconds (time.time),
    for the lease ends. on_error(error): a renewal or removal that failed (default: a logged warning).
    scale_with_item_size (default True): a renewal is billed on the whole item (one write unit per KB, over
    about 30 workers a region); the beats are spaced by the units the last renewal consumed and the lease
    lengthened alike, so a worker writes about one unit per heartbeat at any fleet size (as worker/presence.ts)."""

    def __init__(self, dynamodb, table_name, region, worker_id, heartbeat_seconds=None, lease_seconds=None, forget_after_seconds=None, clock=time.time, on_error=None, scale_with_item_size=True):
        try:
            check_worker_id(worker_id)
        except ValueError as error:
            raise ValueError(f"presence: {error}") from None
        if not isinstance(table_name, str) or not table_name:
            raise ValueError("presence: table_name is required")
        if not isinstance(region, str) or not region:
            raise ValueError("presence: region is required")
        self.heartbeat_seconds = _positive("heartbeat_seconds", PRESENCE["heartbeat_seconds"] if heartbeat_seconds is None else heartbeat_seconds)
        self.lease_seconds = _positive("lease_seconds", PRESENCE["lease_seconds"] if lease_seconds is None else lease_seconds)
        self.forget_after_seconds = PRESENCE["forget_after_seconds"] if forget_after_seconds is None else forget_after_seconds
        if isinstance(self.forget_after_seconds, bool) or not isinstance(self.forget_after_seconds, (int, float)) or self.forget_after_seconds < 0:
            raise ValueError(f"presence: forget_after_seconds must be a number >= 0, got {forget_after_seconds!r}")
        if not self.lease_seconds > self.heartbeat_seconds:
            raise ValueError(f"presence: lease_seconds ({self.lease_seconds}) must be longer than heartbeat_seconds ({self.heartbeat_seconds})")
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.region = region
        self.worker_id = worker_id
        self.clock = clock
        self.on_error = on_error
        self.attribute = presence_attribute(worker_id)
        self.key = {"request_id": {"S": presence_key(region)}}
        self._seen = {}  # what the last renewal's ALL_NEW image held: lease ends by worker id
        self._counts = {"renewals": 0, "failures": 0, "forgotten": 0, "writes": 0, "write_units": 0}
        self.scale_with_item_size = scale_with_item_size
        self._units = 1  # the item's units at the last renewal: the next lease covers the beats they space
        self._spacing = 1
        self._lock = threading.Lock()  # one write at a time (a beat, a renew() call, stop())
        self._stopped = threading.Event()
        self._thread = None

    def counters(self):
        """renewals written, failures (retried at the next beat), forgotten (others' entries removed), writes (UpdateItem
        calls), write_units consumed; heartbeat_seconds and lease_seconds as they are spaced now."""
        return {**self._counts, "heartbeat_seconds": self.heartbeat_seconds * self._spacing, "lease_seconds": self.lease_seconds * self._units}

    def _now_ms(self):
        return int(self.clock() * 1000)

    def start(self):
        """Renews at once, then every heartbeat, until stop(). Returns self."""
        if self._stopped.is_set():
            raise RuntimeError("presence: stopped")
        if self._thread is None:
            self._thread = threading.Thread(target=self._beats, name=f"presence-{self.worker_id}", daemon=True)
            self._thread.start()
        return self

    def _beats(self):
        while not self._stopped.is_set():
            self.renew()
            self._stopped.wait(self.heartbeat_seconds * self._spacing)

    def _report(self, error):
        try:
            if self.on_error is not None:
                self.on_error(error)
            else:
                log.warning("presence %s/%s: %s", self.region, self.worker_id, error)
        except Exception:  # noqa: BLE001 - a failing error callback must not stop the beats
            pass

    def _update(self, removals):
        names = {"#me": self.attribute}
        values = {":until": {"N": str(self._now_ms() + int(self.lease_seconds * self._units * 1000))}}
        conditions = []
        for i, (worker, until) in enumerate(removals):
            names[f"#f{i}"] = presence_attribute(worker)
            values[f":f{i}"] = {"N": str(until)}
            conditions.append(f"#f{i} = :f{i}")
        update = "SET #me = :until"
        if removals:
            update += " REMOVE " + ", ".join(f"#f{i}" for i in range(len(removals)))
        request = {
            "TableName": self.table_name,
            "Key": self.key,
            "UpdateExpression": update,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
            "ReturnConsumedCapacity": "TOTAL",
        }
        if conditions:
            request["ConditionExpression"] = " AND ".join(conditions)
        self._counts["writes"] += 1
        answer = self.dynamodb.update_item(**request)
        units = (answer.get("ConsumedCapacity") or {}).get("CapacityUnits")
        if isinstance(units, (int, float)) and not isinstance(units, bool) and math.isfinite(units) and units > 0:
            self._counts["write_units"] += units
            if self.scale_with_item_size:
                # The next beat after `units` heartbeats, but no later than the lease just written covers three
                # times over; the next renewal's lease covers the new spacing.
                self._spacing = max(1, min(math.ceil(units), self._units))
                self._units = max(1, math.ceil(units))
        return answer.get("Attributes")

    def renew(self):
        """One renewal now (what the beats call): True when written. Never raises."""
        with self._lock:
            now = self._now_ms()
            stale = [(w, self._seen[w]) for w in forgettable(self._seen, now, self.forget_after_seconds * 1000) if w != self.worker_id]
            try:
                try:
                    item = self._update(stale)
                    self._counts["forgotten"] += len(stale)
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException" or not stale:
                        raise
                    # One of them was renewed since it was seen: write again, removing nothing.
                    item = self._update([])
                self._seen = leases_from_attributes(item)
                self._counts["renewals"] += 1
                return True
            except Exception as error:  # noqa: BLE001 - reported; the next beat tries again
                self._counts["failures"] += 1
                self._report(error)
                return False

    def stop(self, timeout=None):
        """Stops renewing (waits for a renewal in flight) and removes this worker's entry, so that it drops
        out at once. Never raises: a removal that fails is reported (the entry lapses with its lease); False then."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with self._lock:
            try:
                self._counts["writes"] += 1
                self.dynamodb.update_item(
                    TableName=self.table_name, Key=self.key, UpdateExpression="REMOVE #me", ExpressionAttributeNames={"#me": self.attribute}
                )
                return True
            except Exception as error:  # noqa: BLE001
                self._report(error)
                return False

    def abandon(self):
        """Stops renewing and leaves the entry to lapse, as a worker that dies does (for simulations)."""
        self._stopped.set()
