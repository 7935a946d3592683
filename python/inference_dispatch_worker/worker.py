"""A worker on the fence (worker/wrapper.ts `fenced`, with the SQS side of a loop): for each copy,

    smoke copy       -> handed back at once (visibility 0): not accepted, not processed, not deleted  SMOKE
    accept refused   -> ALREADY_ACCEPTED, ALREADY_COMPLETED, DEAD_LETTERED: deleted unprocessed      DROPPED
                        IN_FLIGHT (this very copy is held): kept while this fence watches its lease   IN_FLIGHT
    accepted         -> process(message, job) with the heartbeat running (lease and visibility),
                        then complete and delete                                                      PROCESSED
    process raised   -> heartbeat stopped, released, not deleted (the visibility timeout brings it)   FAILED
    lease lost       -> completion refused, not deleted: it is the new holder's                       LEASE_LOST
    invalid id       -> nothing written, not deleted (no dispatcher copy carries one)                 INVALID

A transient error while accepting (a throttle, a 5xx, a timeout, DynamoDB unreachable: transient.py) is
tried again in process, the copy kept invisible meanwhile (transient_retry), so that it costs no receive;
past the retry window (default: the lease) the copy is handed back (visibility 0) and the error raised.
Any other DynamoDB or SQS error while accepting is raised: the copy is left to its visibility timeout."""
import json
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import AcceptRefused, LeaseLost, NoDispatchIdentity, NotHolder
from .heartbeat import Heartbeat
from .identity import dispatch_identity, smoke_run_of_copy
from .keep import MAX_VISIBILITY_SECONDS, WatchedCopies
from .lanes import LaneReceiver, sqs_receive
from .transient import TransientRetry, retry_transient

log = logging.getLogger("inference_dispatch_worker")

PROCESSED, DROPPED, IN_FLIGHT, SMOKE, FAILED, LEASE_LOST, INVALID = "PROCESSED", "DROPPED", "IN_FLIGHT", "SMOKE", "FAILED", "LEASE_LOST", "INVALID"


def new_worker_id():
    """Unique per worker process: host, pid and a random suffix."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass
class Outcome:
    """status: one of PROCESSED, DROPPED, IN_FLIGHT, SMOKE, FAILED, LEASE_LOST, INVALID.
    reason: the refusal (DROPPED: ALREADY_ACCEPTED / ALREADY_COMPLETED / DEAD_LETTERED; LEASE_LOST:
    NOT_HOLDER / EXPIRED). retry_after: IN_FLIGHT, seconds until this fence has watched the lease.
    kept: IN_FLIGHT, whether the copy is kept (else handed back for retry_after). completed: PROCESSED,
    whether complete succeeded (a failure other than a lost lease does not change the outcome)."""

    status: str
    request_id: Optional[str] = None
    token: Optional[str] = None
    reason: Optional[str] = None
    result: Any = None
    record: Optional[dict] = None
    retry_after: Optional[int] = None
    kept: bool = False
    completed: bool = False
    error: Optional[BaseException] = None


@dataclass
class Job:
    """What process(message, job) gets beside the message. lost: a threading.Event set when the lease is
    lost (stop then: another worker may hold the copy now); lost_reason() says why."""

    request_id: str
    token: str
    worker_id: str
    record: dict
    lost: threading.Event
    heartbeat: Heartbeat = field(repr=False)

    def lost_reason(self):
        return self.heartbeat.lost_reason

    def extend(self, seconds):
        """A beat now: the lease holds `seconds` from now, and later beats keep that length."""
        self.heartbeat.beat(seconds)


class Worker:
    """Worker(fence, sqs, lease_seconds=queue's visibility timeout). One per process (its fence watches).

    transient_retry: how a transient acceptance failure is tried again (a TransientRetry; True: its
    defaults, for at most the copy's lease); False: not retried, raised at once (the copy is left to its
    visibility timeout, spending one of its receives)."""

    def __init__(self, fence, sqs, lease_seconds, worker_id=None, heartbeat_seconds=None, keep_margin_seconds=30, max_keeps=3, on_warning=None, transient_retry=True):
        self.fence = fence
        self.sqs = sqs
        self.lease_seconds = lease_seconds
        self.worker_id = worker_id or new_worker_id()
        self.heartbeat_seconds = heartbeat_seconds
        self.warn = on_warning or (lambda text, **detail: log.warning("dispatch fence: %s %s", text, detail))
        if transient_retry is True:
            transient_retry = TransientRetry()
        if transient_retry is not False and not isinstance(transient_retry, TransientRetry):
            raise TypeError(f"transient_retry must be True, False or a TransientRetry, not {transient_retry!r}")
        self.transient_retry = transient_retry
        self._stop = None  # run's stop event while it runs: ends a retry at once
        self._queue_of = {}  # id(message) -> (queue_url, its SQS client or None), for the kept copies' visibility
        self.kept = WatchedCopies(
            self._kept_visibility,
            margin_seconds=keep_margin_seconds,
            max_keeps=max_keeps,
            monotonic=fence.monotonic,
        )

    def _kept_visibility(self, message, seconds):
        queue_url, sqs = self._queue_of[id(message)]
        self.set_visibility(queue_url, message, seconds, sqs=sqs)

    def set_visibility(self, queue_url, message, seconds, sqs=None):
        (sqs or self.sqs).change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=min(int(seconds), MAX_VISIBILITY_SECONDS))

    def delete(self, queue_url, message, sqs=None):
        (sqs or self.sqs).delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def handle(self, message, queue_url, process, keeps=0, lease_seconds=None, sqs=None):
        """One copy, received from queue_url (with MessageAttributeNames=['All']), end to end: returns an
        Outcome. keeps: the watches a kept copy was kept for already (KeptCopy.keeps); lease_seconds: this
        copy's lease, if not the worker's; sqs: the client of the copy's region when it is not the worker's
        own (a stolen copy: TakenMessage.sqs), for its deletion and visibility."""
        run = smoke_run_of_copy(message)
        if run:
            # A smoke request's copy: the smoke command's. Visible again at once; no acceptance, no processing.
            self.set_visibility(queue_url, message, 0, sqs=sqs)
            return Outcome(SMOKE, reason=run)
        try:
            identity = dispatch_identity(message)
        except NoDispatchIdentity as error:
            self.warn(str(error), kind="not-accepted")
            return Outcome(INVALID, error=error)
        for fallback in identity.fallbacks:
            self.warn(fallback, kind="fallback", request_id=identity.request_id)
        request_id, token = identity.request_id, identity.token
        try:
            lease = self._accept(message, queue_url, request_id, token, lease_seconds or self.lease_seconds, sqs)
        except AcceptRefused as refused:
            if refused.drop_copy:
                # Another copy holds or finished the request, or it is dead-lettered: drop this copy.
                self.delete(queue_url, message, sqs=sqs)
                return Outcome(DROPPED, request_id, token, reason=refused.reason, record=refused.record)
            # IN_FLIGHT: never deleted (that would lose the request if its holder died). Kept while this
            # fence watches; after max_keeps watches, handed back for retry_after.
            self._queue_of[id(message)] = (queue_url, sqs)
            kept = self.kept.keep(message, refused.retry_after, keeps)
            if not kept:
                self._queue_of.pop(id(message), None)
                self.set_visibility(queue_url, message, refused.retry_after, sqs=sqs)
            return Outcome(IN_FLIGHT, request_id, token, reason=refused.reason, record=refused.record, retry_after=refused.retry_after, kept=kept)

        heartbeat = Heartbeat(
            self.fence,
            lease,
            every_seconds=self.heartbeat_seconds,
            on_beat=lambda seconds: self.set_visibility(queue_url, message, seconds, sqs=sqs),
            on_error=lambda error: self.warn(f"heartbeat failed: tried again at the next beat ({error})", kind="heartbeat-failed", request_id=request_id),
        ).start()
        job = Job(request_id, token, self.worker_id, lease.record, heartbeat.lost, heartbeat)
        try:
            result = process(message, job)
        except Exception as error:  # noqa: BLE001 - the job's own failure: released, reported
            heartbeat.stop()
            try:
                self.fence.release(lease)
            except Exception as release_error:  # noqa: BLE001
                self.warn(f"release after a failed job failed: the acceptance stands until its lease ends ({release_error})", kind="release-failed", request_id=request_id)
            return Outcome(FAILED, request_id, token, error=error)
        heartbeat.stop()
        if heartbeat.lost_reason is not None and heartbeat.lost_reason.reason == "NOT_HOLDER":
            return Outcome(LEASE_LOST, request_id, token, reason="NOT_HOLDER", record=heartbeat.lost_reason.record, result=result)
        completed = True
        try:
            # On this holder's own lease only: a lease that ran out completes only if nobody took it over.
            self.fence.complete(lease)
        except NotHolder as refused:
            return Outcome(LEASE_LOST, request_id, token, reason="NOT_HOLDER", record=refused.record, result=result)
        except Exception as error:  # noqa: BLE001 - the result stands
            completed = False
            self.warn(f"complete failed after the job succeeded: the result stands ({error})", kind="complete-failed", request_id=request_id)
        self.delete(queue_url, message, sqs=sqs)
        return Outcome(PROCESSED, request_id, token, result=result, record=lease.record, completed=completed)

    def _accept(self, message, queue_url, request_id, token, lease_seconds, sqs):
        """fence.accept, a transient failure tried again with the copy kept invisible (transient.py)."""

        def accept():
            return self.fence.accept(request_id, token, self.worker_id, lease_seconds)

        options = self.transient_retry
        if options is False:
            return accept()
        stop = self._stop

        def give_up(error):
            # Past the bound: handed back at once rather than after the extended visibility.
            self.warn(f"acceptance failed past its retry window: the copy is handed back ({error})", kind="not-accepted", request_id=request_id)
            self.set_visibility(queue_url, message, 0, sqs=sqs)

        if options.monotonic is None or (options.sleep is None and stop is not None):
            options = TransientRetry(**{**vars(options),
                                        "monotonic": options.monotonic or getattr(self.fence, "monotonic", None),
                                        "sleep": options.sleep or (stop.wait if stop is not None else None)})
        return retry_transient(
            accept,
            options,
            default_max_seconds=lease_seconds,
            keep_visible=lambda seconds: self.set_visibility(queue_url, message, seconds, sqs=sqs),
            on_give_up=give_up,
            on_retry=lambda error, attempt, delay: log.info("acceptance of %s failed transiently (%s): try %d in %.2f s", request_id, error, attempt + 1, delay),
            stopped=(stop.is_set if stop is not None else None),
        )

    def handle_due(self, process, lease_seconds=None):
        """Handles the kept copy whose watch is ripe (through this fence), if one is due: its Outcome, or None."""
        due = self.kept.take_due()
        if due is None:
            return None
        queue_url, sqs = self._queue_of.pop(id(due.message))
        return self.handle(due.message, queue_url, process, keeps=due.keeps, lease_seconds=lease_seconds, sqs=sqs)

    def turn(self, lanes, process):
        """One turn of a loop: a kept copy whose watch is ripe first, else lanes.next() (a LaneReceiver, or a
        StealingReceiver: a stolen copy is handled with its region's client). Returns the Outcome, or None."""
        due = self.handle_due(process)
        if due is not None:
            return due
        taken = lanes.next()
        if taken is None:
            return None
        return self.handle(taken.message, taken.queue_url, process, sqs=getattr(taken, "sqs", None))

    def run(self, process, normal_url=None, high_url=None, stop=None, on_outcome=None, lane_options=None, receiver=None):
        """The worker loop: the lanes (high first), kept copies when due, until `stop` (a threading.Event) is
        set. process(message, job) returns the job's result; json.loads(message['Body']) is the request.
        receiver: a StealingReceiver (or any receiver with next() and close()) instead of a LaneReceiver of
        normal_url and high_url. On stop, held and kept copies are handed back (visible again at once)."""
        stop = stop or threading.Event()
        if receiver is None and normal_url is None:
            raise TypeError("run needs normal_url (the worker's own lanes) or a receiver")
        lanes = receiver if receiver is not None else LaneReceiver(sqs_receive(self.sqs), normal_url, high_url, **(lane_options or {}))
        self._stop = stop
        try:
            while not stop.is_set():
                try:
                    outcome = self.turn(lanes, process)
                except Exception:  # noqa: BLE001 - DynamoDB or SQS: the copy comes back (handed back past a retry, else after its visibility)
                    log.exception("a copy was not handled: it comes back")
                    continue
                if outcome is not None and on_outcome is not None:
                    on_outcome(outcome)
        finally:
            self._stop = None
            for taken in lanes.close():
                self.set_visibility(taken.queue_url, taken.message, 0, sqs=getattr(taken, "sqs", None))
            for kept in self.kept.release():
                queue_url, sqs = self._queue_of.pop(id(kept.message))
                self.set_visibility(queue_url, kept.message, 0, sqs=sqs)


def body_of(message):
    """The request a copy carries (its JSON body)."""
    return json.loads(message.get("Body") or message.get("body") or "null")
