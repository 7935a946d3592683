"""Keeping a copy refused IN_FLIGHT while this process's fence watches its lease (worker/keep.ts).

Handed back to the queue, its next receive would usually reach another process, whose fence would start
watching again, and so on until the queue's maxReceiveCount moved it to the DLQ unprocessed. Kept, its
visibility covers the watch plus a margin (extended by the margin again, by a timer, while it is kept), and
it is tried again through the same Fence once due. Nothing here is trusted for safety: the fence decides."""
import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("inference_dispatch_worker")

MAX_VISIBILITY_SECONDS = 43_200  # SQS's cap


@dataclass
class KeptCopy:
    message: object
    due_at: float  # monotonic seconds
    keeps: int  # watches so far


class WatchedCopies:
    """extend_visibility(message, seconds); margin_seconds: more than one turn of the loop (a job and a
    receive); max_keeps: watches a copy is kept for (its holder came back each time), then handed back."""

    def __init__(self, extend_visibility, margin_seconds=30, max_keeps=3, monotonic=time.monotonic, on_error=None):
        self.extend_visibility = extend_visibility
        self.margin_seconds = margin_seconds
        self.max_keeps = max_keeps
        self.monotonic = monotonic
        self.on_error = on_error
        self._entries = {}  # id(entry) -> (entry, timer)
        self._lock = threading.Lock()

    def keep(self, message, retry_after, kept_before=0):
        """Keeps the copy for retry_after seconds (the refusal's), extending its visibility first. False:
        kept max_keeps times already, nothing done: hand it back."""
        if kept_before >= self.max_keeps:
            return False
        wait = max(0, retry_after)
        self.extend_visibility(message, min(int(-(-wait // 1)) + self.margin_seconds, MAX_VISIBILITY_SECONDS))
        entry = KeptCopy(message, self.monotonic() + wait, kept_before + 1)
        with self._lock:
            self._entries[id(entry)] = (entry, None)
        self._schedule(entry, int(-(-wait // 1)) + self.margin_seconds / 2)
        return True

    def take_due(self):
        """The kept copy due longest (its watch ripe), no longer kept; None when none is due."""
        now = self.monotonic()
        with self._lock:
            due = [entry for entry, _ in self._entries.values() if entry.due_at <= now]
        if not due:
            return None
        return self._take(min(due, key=lambda e: e.due_at))

    def next_due_in(self):
        """Seconds until the next kept copy is due (0: one is), None when none is kept."""
        with self._lock:
            dues = [entry.due_at for entry, _ in self._entries.values()]
        return None if not dues else max(0.0, min(dues) - self.monotonic())

    def __len__(self):
        with self._lock:
            return len(self._entries)

    def release(self):
        """Every kept copy, no longer kept (a worker that stops: hand them back)."""
        with self._lock:
            entries = [entry for entry, _ in self._entries.values()]
        return [self._take(entry) for entry in entries]

    def _take(self, entry):
        with self._lock:
            _, timer = self._entries.pop(id(entry), (None, None))
        if timer is not None:
            timer.cancel()
        return entry

    def _schedule(self, entry, after_seconds):
        def refresh():
            with self._lock:
                if id(entry) not in self._entries:
                    return
            try:
                self.extend_visibility(entry.message, self.margin_seconds)
            except Exception as error:  # noqa: BLE001 - the copy may be received elsewhere; the fence still decides
                if self.on_error is not None:
                    self.on_error(error, entry.message)
                else:
                    log.warning("visibility of a kept copy not extended", exc_info=True)
            self._schedule(entry, self.margin_seconds / 2)

        timer = threading.Timer(after_seconds, refresh)
        timer.daemon = True
        with self._lock:
            if id(entry) not in self._entries:
                return
            self._entries[id(entry)] = (entry, timer)
        timer.start()
