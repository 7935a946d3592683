"""The holder's side of a lease (worker/heartbeat.ts): while a job runs, extend the lease every third of
it (a new version each time, so that a watcher's watch starts again) and, through on_beat, the message's
visibility with it. A daemon thread: it never keeps the process alive and dies with it.

`lost` is set when the lease is lost, and `lost_reason` is a LeaseLost: a beat refused (NOT_HOLDER) or no
beat got through before the lease ran out by this holder's own monotonic clock (EXPIRED)."""
import logging
import threading
import uuid

from .errors import LeaseLost, NotHolder

log = logging.getLogger("inference_dispatch_worker")

# Versions kept while beats go unanswered: each may have landed.
MAX_VERSIONS = 8


class Heartbeat:
    def __init__(self, fence, lease, every_seconds=None, on_beat=None, on_error=None):
        self.fence, self.lease = fence, lease
        self.every_seconds = every_seconds
        self.on_beat = on_beat  # on_beat(seconds): extend the message's visibility by as much
        self.on_error = on_error  # a beat or on_beat that failed without losing the lease: tried again at the next beat
        self.lost = threading.Event()
        self.lost_reason = None
        self._stopping = threading.Event()
        self._beat_lock = threading.Lock()  # one beat at a time; stop() waits for the one in flight
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{lease.request_id}")

    def start(self):
        self._thread.start()
        return self

    @property
    def held_versions(self):
        """The versions this holder may hold now: pass the lease to complete / release (it carries them)."""
        return list(self.lease.versions)

    def beat(self, seconds=None):
        """One beat now; the lease holds `seconds` from now and later beats keep that length. Raises LeaseLost when lost."""
        with self._beat_lock:
            if self.lost.is_set():
                raise self.lost_reason
            seconds = self.lease.lease_seconds if seconds is None else seconds
            new = uuid.uuid4().hex
            # Until the answer comes, the record may hold either version: the write holds on both, so that
            # botocore's resend after a lost answer meets its own new version and is not taken for a loss.
            self.lease.versions = (list(self.lease.versions) + [new])[-MAX_VERSIONS:]
            try:
                self.fence.extend(self.lease, seconds, new_version=new)
            except NotHolder as refused:
                self._lose(LeaseLost(self.lease.request_id, "NOT_HOLDER", refused.record))
                raise self.lost_reason from None
        if self.on_beat is not None:
            self.on_beat(seconds)

    def stop(self):
        """No more beats; returns once a beat in flight is done, so that none races complete or release."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _lose(self, reason):
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()

    def _run(self):
        next_beat = self.fence.monotonic() + self._every()
        while True:
            now = self.fence.monotonic()
            wake = min(next_beat, self.lease.valid_until)
            if self._stopping.wait(max(0.0, wake - now)):
                return
            if self.fence.monotonic() >= self.lease.valid_until:
                # No beat got through before the lease ran out by this clock: a watcher may take it over now.
                self._lose(LeaseLost(self.lease.request_id, "EXPIRED"))
                return
            if self.fence.monotonic() < next_beat:
                continue
            try:
                self.beat()
            except LeaseLost:
                return
            except Exception as error:  # DynamoDB or SQS unreachable: tried again at the next beat
                if self.on_error is not None:
                    self.on_error(error)
                else:
                    log.warning("heartbeat of %s failed: tried again at the next beat", self.lease.request_id, exc_info=True)
            next_beat = self.fence.monotonic() + self._every()

    def _every(self):
        return self.every_seconds if self.every_seconds is not None else self.lease.lease_seconds / 3
