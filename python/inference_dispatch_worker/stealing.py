"""Work stealing (core/stealing.ts, worker/stealing.ts): a worker whose own lanes are empty takes work from
other regions' lanes, so that the first free GPU anywhere takes a waiting request. A stolen copy is the
same copy and goes through the fence exactly as an own one does (the fence checks the dispatch token, not
the region): no new copies, nothing processed twice.

choose_steal decides where from (pure): among the allowed regions (an allow-list, for data locality) whose
measured round trip is within max_latency_ms, the one with the longest backlog per live worker, high lanes
first (a high message anywhere before a normal one anywhere).

StealingReceiver wraps the worker's own lane receiver. Its own lanes come first; when they come back
empty it reads the other allowed regions (at most every check_every_seconds): each lane's depth
(GetQueueAttributes ApproximateNumberOfMessages, that region's SQS client, its round trip measured) and
their presence items (one eventually consistent BatchGetItem: live workers per region), asks
choose_steal, and receives ONE message from the chosen lane without waiting. While that lane keeps giving,
the next empty turn receives from it again without a new reading; an empty receive there ends it until
the next reading. A stolen copy of a model this worker does not serve is handed back at once
(ChangeMessageVisibility 0) and counted; that lane is left alone until the reading after the next one.

Off unless configured: without allowed regions it steals nothing and makes no request."""
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Optional

from .presence import count_presence, leases_from_attributes, presence_key

MODEL_ATTRIBUTE = "model_name"  # core/record.ts MESSAGE_ATTRIBUTE.model
LANES = ("high", "normal")

# worker/stealing.ts workerStealingSchema's defaults.
STEALING_DEFAULTS = {
    "allow_regions": [],
    "max_latency_ms": None,
    "min_backlog_per_worker": 1,
    "check_every_seconds": 30,
    "models": None,
    "other_high_first": True,
    "fleetless_first": True,
    "startup_seconds": 0,
    "service_seconds": None,
}


class StealingSettingsError(ValueError):
    """Settings refused: the message names each field, `stealing: allow_regions.0: must not be empty`."""


@dataclass(frozen=True)
class StealingSettings:
    """allow_regions: regions this worker may take work from (its own is ignored); empty: off.
    max_latency_ms: skip a region whose measured round trip is above this; None: no limit.
    min_backlog_per_worker: waiting messages per live worker a region must show (default 1).
    check_every_seconds: shortest time between two readings of the other regions (default 30).
    models: the models this worker serves; None or empty: every model.
    other_high_first: another region's high lane before the own normal lane (after the own high lane).
    fleetless_first: a region with no live worker (presence) before the own normal lane.
    startup_seconds, service_seconds: what a stolen request costs before it can start here, and a request's
    mean duration; with both, a lane is worth a steal only when its wait (backlog per worker x service_seconds)
    is longer than the start-up (default 0: not weighed)."""

    allow_regions: tuple = ()
    max_latency_ms: Optional[float] = None
    min_backlog_per_worker: float = 1
    check_every_seconds: float = 30
    models: Optional[tuple] = None
    other_high_first: bool = True
    fleetless_first: bool = True
    startup_seconds: float = 0
    service_seconds: Optional[float] = None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _names(value, field_name, issues):
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        issues.append(f"{field_name}: expected a list of strings, got {value!r}")
        return ()
    for i, name in enumerate(value):
        if not isinstance(name, str):
            issues.append(f"{field_name}.{i}: expected a string, got {name!r}")
        elif not name:
            issues.append(f"{field_name}.{i}: must not be empty")
    return tuple(value)


def parse_stealing_settings(settings=None, **overrides):
    """The settings from a dict (or StealingSettings) and/or keywords, with STEALING_DEFAULTS; raises
    StealingSettingsError naming every field refused. Unknown names are refused (a misspelt allow-list
    would otherwise turn stealing off without a word)."""
    if isinstance(settings, StealingSettings):
        settings = {name: getattr(settings, name) for name in STEALING_DEFAULTS}
    given = {**(settings or {}), **overrides}
    issues = []
    unknown = sorted(set(given) - set(STEALING_DEFAULTS))
    if unknown:
        issues.append(f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} (known: {', '.join(STEALING_DEFAULTS)})")
    values = {**STEALING_DEFAULTS, **{k: v for k, v in given.items() if k in STEALING_DEFAULTS}}
    allow = _names(values["allow_regions"], "allow_regions", issues) if values["allow_regions"] is not None else ()
    models = None if values["models"] is None else _names(values["models"], "models", issues)
    latency = values["max_latency_ms"]
    if latency is not None and not (_is_number(latency) and latency > 0):
        issues.append(f"max_latency_ms: expected a number > 0, got {latency!r}")
    backlog = values["min_backlog_per_worker"]
    if not (_is_number(backlog) and backlog >= 0):
        issues.append(f"min_backlog_per_worker: expected a number >= 0, got {backlog!r}")
    every = values["check_every_seconds"]
    if not (_is_number(every) and every > 0):
        issues.append(f"check_every_seconds: expected a number > 0, got {every!r}")
    for flag in ("other_high_first", "fleetless_first"):
        if not isinstance(values[flag], bool):
            issues.append(f"{flag}: expected true or false, got {values[flag]!r}")
    startup = values["startup_seconds"]
    if not (_is_number(startup) and startup >= 0):
        issues.append(f"startup_seconds: expected a number >= 0, got {startup!r}")
    service = values["service_seconds"]
    if service is not None and not (_is_number(service) and service > 0):
        issues.append(f"service_seconds: expected a number > 0, got {service!r}")
    if issues:
        raise StealingSettingsError("stealing: " + "; ".join(issues))
    return StealingSettings(allow, latency, backlog, every, models, values["other_high_first"], values["fleetless_first"], startup, service)


def _startup_backlog(settings):
    """The backlog per worker whose wait is the start-up cost (0 when it is not weighed)."""
    if settings.service_seconds and settings.startup_seconds > 0:
        return settings.startup_seconds / settings.service_seconds
    return 0


@dataclass(frozen=True)
class StealCandidate:
    """What a worker knows of another region: waiting messages per lane ({'high': n, 'normal': n}; a lane
    missing when its read failed), live workers (None: the region reports none), round trip (ms; None: not measured)."""

    region: str
    waiting: dict = field(default_factory=dict)
    workers: Optional[int] = None
    latency_ms: Optional[float] = None


@dataclass(frozen=True)
class StealChoice:
    region: str
    lane: str
    # Waiting messages per worker that made the choice (a region without presence counts one worker).
    backlog_per_worker: float


def choose_steal(own_region, candidates, settings):
    """Where to take the next message from (a StealChoice), or None: nowhere allowed has a backlog worth a
    cross-region receive. core/stealing.ts chooseSteal: high lanes are compared first; among equals the
    first candidate wins; a region without presence counts one worker."""
    if not isinstance(settings, StealingSettings):
        settings = parse_stealing_settings(settings)
    eligible = _eligible(own_region, candidates, settings)
    least = max(settings.min_backlog_per_worker, _startup_backlog(settings))
    for lane in LANES:
        best = _longest_backlog(eligible, lane, least)
        if best is not None:
            return best
    return None


def choose_before_own_normal(own_region, candidates, settings):
    """Where to take from before the own normal lane (the own high lane comes first): another region's high
    lane (other_high_first), else a region with no live worker (fleetless_first), its high lane then its
    normal one; any backlog counts. None when neither setting is on or nothing waits there.
    core/stealing.ts chooseBeforeOwnNormal."""
    if not isinstance(settings, StealingSettings):
        settings = parse_stealing_settings(settings)
    if not settings.other_high_first and not settings.fleetless_first:
        return None
    eligible = _eligible(own_region, candidates, settings)
    if settings.other_high_first:
        # A high request that waits less for its own region's workers than the start-up would cost stays there.
        startup = _startup_backlog(settings)
        high = _longest_backlog(eligible, "high", startup if startup > 0 else None)
        if high is not None:
            return high
    if settings.fleetless_first:
        fleetless = [c for c in eligible if c.workers == 0]
        for lane in LANES:
            best = _longest_backlog(fleetless, lane, None)
            if best is not None:
                return best
    return None


def _eligible(own_region, candidates, settings):
    allowed = set(settings.allow_regions)
    limit = settings.max_latency_ms
    return [
        c for c in candidates
        if c.region != own_region and c.region in allowed and (limit is None or c.latency_ms is None or c.latency_ms <= limit)
    ]


def _longest_backlog(candidates, lane, min_per_worker):
    """The lane with the most waiting per live worker (none or no presence counts one); ties: the first.
    min_per_worker None: any backlog."""
    best = None
    for c in candidates:
        waiting = (c.waiting or {}).get(lane)
        if waiting is None or waiting <= 0:
            continue
        per_worker = waiting / max(1, 1 if c.workers is None else c.workers)
        if min_per_worker is not None and per_worker < min_per_worker:
            continue
        if best is None or per_worker > best.backlog_per_worker:
            best = StealChoice(c.region, lane, per_worker)
    return best


def serves_model(models, model):
    """Whether a worker serving `models` may take a message for `model`; no list: every model."""
    if not models:
        return True
    return model is not None and model in models


def model_of(message):
    return ((message.get("MessageAttributes") or {}).get(MODEL_ATTRIBUTE) or {}).get("StringValue")


@dataclass(frozen=True)
class StealRegion:
    """Another region a worker may steal from: its name, a boto3 SQS client of that region, its lanes."""

    region: str
    sqs: object
    normal_url: str
    high_url: Optional[str] = None

    def url(self, lane):
        return self.high_url if lane == "high" else self.normal_url


@dataclass(frozen=True)
class TakenMessage:
    """An own or a stolen message: lane, queue_url, message, its region, stolen, and for a stolen one its
    region's SQS client (delete, visibility: Worker.handle(..., sqs=taken.sqs))."""

    lane: str
    queue_url: str
    message: dict
    region: str
    stolen: bool = False
    sqs: object = None


class StealingReceiver:
    """StealingReceiver(own_region, lanes, regions, settings, dynamodb=None, table_name=None).

    lanes: the worker's own LaneReceiver (anything with next() and close()). regions: StealRegions (others
    than those allowed are ignored; naming an allowed region without queues is refused). dynamodb and
    table_name: where the presence items are (the idempotency table); without them every region counts
    one worker. clock: wall clock, seconds (presence leases); monotonic: seconds (the reading interval,
    round trips). on_error(error): a reading or a receive that failed; stealing goes on without it."""

    def __init__(self, own_region, lanes, regions, settings=None, dynamodb=None, table_name=None, clock=time.time, monotonic=time.monotonic, on_error=None):
        self.settings = parse_stealing_settings(settings)
        if (dynamodb is None) != (table_name is None):
            raise StealingSettingsError("stealing: presence needs both dynamodb and table_name")
        given = {r.region: r for r in regions}
        unknown = [r for r in self.settings.allow_regions if r != own_region and r not in given]
        if unknown:
            raise StealingSettingsError(
                f"stealing: allow_regions names {', '.join(unknown)}, for which no queues were given (given: {', '.join(given) or 'none'})"
            )
        self.own_region = own_region
        self.lanes = lanes
        self.regions = {r: given[r] for r in dict.fromkeys(self.settings.allow_regions) if r != own_region}
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.clock = clock
        self.monotonic = monotonic
        self.on_error = on_error
        self._last_reading = None
        self._current = None  # the StealChoice that gave last: received from until it comes back empty
        self._prior = None  # from the last reading: taken before the own normal lane until it comes back empty
        self._idle_choice = None  # from the last reading, not used yet: where to steal when the own lanes are empty
        self._shunned = {}  # (region, lane) -> skipped while the reading count is at most this
        self._latency = {}  # region -> ms
        self._counts = {"readings": 0, "stolen": 0, "handed_back_for_model": 0, "sqs_requests": 0, "dynamo_reads": 0}
        self._per_region = {r: {"stolen": 0, "handed_back_for_model": 0, "latency_ms": None} for r in self.regions}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=min(8, 2 * len(self.regions) + 1), thread_name_prefix="steal-read") if self.regions else None

    @property
    def enabled(self):
        """Whether this receiver ever steals (an allow-list with another region)."""
        return bool(self.regions)

    def counters(self):
        """readings, stolen, handed_back_for_model, sqs_requests, dynamo_reads, and by_region: stolen,
        handed_back_for_model, latency_ms (the last measured round trip)."""
        with self._lock:
            return {**self._counts, "by_region": {r: dict(c) for r, c in self._per_region.items()}}

    def _count(self, name, by=1):
        with self._lock:
            self._counts[name] += by

    def _report(self, error):
        try:
            if self.on_error is not None:
                self.on_error(error)
        except Exception:  # noqa: BLE001 - a failing error callback must not stop the worker
            pass

    def next(self):
        """An own message first; when the own lanes came back empty, a stolen one; None when neither. With
        other_high_first or fleetless_first, the lane the last reading chose comes after the own high lane
        and before the own normal one."""
        early = self._before_own_normal()
        if early is not None:
            return early
        if self._current is not None and hasattr(self.lanes, "next_now"):
            # A lane that keeps giving: the own lanes are asked without waiting on their long polls (still
            # open: what they bring comes next), so stolen work does not wait for an own poll to end.
            own = self.lanes.next_now()
            if own is not None:
                return TakenMessage(own.lane, own.queue_url, own.message, self.own_region, False)
            taken = self._receive_from(self._current)
            if taken is not None:
                return taken
            self._current = None
        own = self.lanes.next()
        if own is not None:
            return TakenMessage(own.lane, own.queue_url, own.message, self.own_region, False)
        if not self.enabled:
            return None
        return self.steal()

    def close(self):
        """Closes the own lanes; what they held is returned as own TakenMessages (hand them back)."""
        held = [TakenMessage(m.lane, m.queue_url, m.message, self.own_region, False) for m in self.lanes.close()]
        if self._pool is not None:
            self._pool.shutdown()
        return held

    def steal(self):
        """One steal attempt: from the lane that gave last, or from a fresh reading when due."""
        if self._current is not None:
            taken = self._receive_from(self._current)
            if taken is not None:
                return taken
            self._current = None
        self._read_when_due()
        choice, self._idle_choice = self._idle_choice, None
        if choice is None:
            return None
        taken = self._receive_from(choice)
        if taken is not None:
            self._current = choice
        return taken

    def _before_own_normal(self):
        """The own high lane without waiting, then the lane the last reading chose to come before the own
        normal lane (a reading made when due, busy or idle), until it comes back empty."""
        if not self.enabled or not (self.settings.other_high_first or self.settings.fleetless_first) or not hasattr(self.lanes, "next_now"):
            return None
        self._read_when_due()
        if self._prior is None:
            return None
        high = self.lanes.next_now(["high"])
        if high is not None:
            return TakenMessage(high.lane, high.queue_url, high.message, self.own_region, False)
        taken = self._receive_from(self._prior)
        if taken is None:
            self._prior = None
        return taken

    def _read_when_due(self):
        """A reading of the other regions when the last is check_every_seconds old: both choices made from it."""
        now = self.monotonic()
        if self._last_reading is not None and now - self._last_reading < self.settings.check_every_seconds:
            return
        self._last_reading = now
        candidates = self.read()
        self._prior = choose_before_own_normal(self.own_region, candidates, self.settings)
        self._idle_choice = choose_steal(self.own_region, candidates, self.settings)

    def read(self):
        """The other allowed regions' StealCandidates: lane depths (with round trips) and live workers."""
        with self._lock:
            self._counts["readings"] += 1
            reading = self._counts["readings"]
        workers = self._pool.submit(self._workers)
        depths = [self._pool.submit(self._depths, target, reading) for target in self.regions.values()]
        live = workers.result()
        candidates = []
        for future in depths:
            region, waiting = future.result()
            candidates.append(StealCandidate(region, waiting, live.get(region), self._latency.get(region)))
        return candidates

    def _depth(self, target, lane, reading):
        url = target.url(lane)
        if not url or self._shunned.get((target.region, lane), 0) >= reading:
            return lane, None, None
        started = self.monotonic()
        try:
            self._count("sqs_requests")
            attributes = target.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]).get("Attributes") or {}
        except Exception as error:  # noqa: BLE001 - that lane is left out of this reading
            self._report(error)
            return lane, None, None
        took = (self.monotonic() - started) * 1000
        try:
            value = float(attributes.get("ApproximateNumberOfMessages"))
        except (TypeError, ValueError):
            value = None
        if value is not None and not math.isfinite(value):
            value = None
        return lane, (int(value) if value is not None and value.is_integer() else value), took

    def _depths(self, target, reading):
        waiting, took = {}, {}
        # The region's two lanes, one after the other on this thread (the regions are read at once).
        for lane in LANES:
            lane, value, ms = self._depth(target, lane, reading)
            if value is not None:
                waiting[lane] = value
            if ms is not None:
                took[lane] = ms
        if took:
            # The region's round trip: the quicker of its lanes' reads this time.
            self._latency[target.region] = min(took.values())
            with self._lock:
                self._per_region[target.region]["latency_ms"] = self._latency[target.region]
        return target.region, waiting

    def _workers(self):
        """Live workers per region from the presence items; a region without an item is left out."""
        found = {}
        if self.dynamodb is None or not self.regions:
            return found
        keys = {presence_key(r): r for r in self.regions}
        try:
            self._count("dynamo_reads")
            answer = self.dynamodb.batch_get_item(
                RequestItems={self.table_name: {"Keys": [{"request_id": {"S": k}} for k in keys], "ConsistentRead": False}}
            )
        except Exception as error:  # noqa: BLE001 - every region counts one worker this time
            self._report(error)
            return found
        now_ms = int(self.clock() * 1000)
        for item in (answer.get("Responses") or {}).get(self.table_name, []):
            region = keys.get((item.get("request_id") or {}).get("S"))
            if region is not None:
                found[region] = count_presence(leases_from_attributes(item), now_ms)["live"]
        return found

    def _receive_from(self, choice):
        target = self.regions.get(choice.region)
        url = target.url(choice.lane) if target is not None else None
        if not url:
            return None
        try:
            self._count("sqs_requests")
            messages = target.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
                AttributeNames=["ApproximateReceiveCount"],
            ).get("Messages") or []
        except Exception as error:  # noqa: BLE001
            self._report(error)
            return None
        message = messages[0] if messages else None
        if not message or not message.get("ReceiptHandle"):
            return None
        if not serves_model(self.settings.models, model_of(message)):
            # Not this worker's model: visible again at once for a worker that serves it; this lane rests.
            with self._lock:
                self._counts["handed_back_for_model"] += 1
                self._per_region[choice.region]["handed_back_for_model"] += 1
                self._shunned[(choice.region, choice.lane)] = self._counts["readings"] + 1
            try:
                self._count("sqs_requests")
                target.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            except Exception as error:  # noqa: BLE001
                self._report(error)
            return None
        with self._lock:
            self._counts["stolen"] += 1
            self._per_region[choice.region]["stolen"] += 1
        return TakenMessage(choice.lane, url, message, choice.region, True, target.sqs)
