"""Taking work from a region's lanes in priority order (worker/lanes.ts, core/lanes.ts): the high lane
first, one normal message after STARVATION_LIMIT high ones in a row while normal work waits.

Busy (the last next() returned a message): each next() asks the lanes in this worker's order without
waiting. Idle: both lanes are watched at once, each by one long poll (LANE_RECEIVE): the high lane all the
time, 20 s per receive; the normal lane 20 s per receive with a rest of 5 s after each empty one: 9 receives
per 100 s. A watch poll still open when next() returns stays open: what it brings is held and returned by
the next next(), in lane order. close() waits for the open polls and returns what is held, to hand back."""
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass

STARVATION_LIMIT = 4  # core/lanes.ts
# worker/lanes.ts LANE_RECEIVE, as deployed (the cost model reads the TypeScript one).
LANE_RECEIVE = {
    "idle_wait_seconds": {"high": 20, "normal": 20},
    "idle_rest_seconds": {"high": 0, "normal": 5},
    "idle_cycle": {"seconds": 100, "receives": 9, "receives_per_lane": {"high": 5, "normal": 4}},
}


@dataclass(frozen=True)
class LaneMessage:
    lane: str
    queue_url: str
    message: dict


def sqs_receive(sqs):
    """receive(queue_url, wait_seconds) -> one message or None, through a boto3 SQS client (shareable between threads)."""

    def receive(queue_url, wait_seconds):
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_seconds, MessageAttributeNames=["All"])
        messages = answer.get("Messages") or []
        return messages[0] if messages else None

    return receive


def poll_order(high_in_a_row, limit=STARVATION_LIMIT):
    return ["normal", "high"] if high_in_a_row >= limit else ["high", "normal"]


class LaneReceiver:
    """LaneReceiver(sqs_receive(sqs), normal_url, high_url): next() returns a LaneMessage, or None when an
    idle long poll came back empty. receive(queue_url, wait_seconds) may be any function of that shape."""

    def __init__(self, receive, normal_url, high_url=None, idle_wait_seconds=None, idle_rest_seconds=None, starvation_limit=STARVATION_LIMIT):
        self.receive = receive
        self.urls = {"normal": normal_url, "high": high_url}
        self.has_high = high_url is not None
        self.idle_wait = {**LANE_RECEIVE["idle_wait_seconds"], **(idle_wait_seconds or {})}
        rest = {**LANE_RECEIVE["idle_rest_seconds"], **(idle_rest_seconds or {})}
        self.idle_rest = rest if self.has_high else {"high": 0, "normal": 0}
        self.starvation_limit = starvation_limit
        self.high_in_a_row = 0
        self.idle = False
        self.pending = {}  # lane -> the future of its open watch poll
        self.held = {}  # lane -> a message its watch poll brought, not yet returned
        self.rest_until = {}  # lane -> time.monotonic() its rest ends
        self.empties = 0  # watch polls that came back empty, ever
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lane-watch")

    def _order(self):
        return poll_order(self.high_in_a_row, self.starvation_limit) if self.has_high else ["normal"]

    def _take(self, lane, message):
        self.high_in_a_row = self.high_in_a_row + 1 if lane == "high" else 0
        self.idle = False
        return LaneMessage(lane, self.urls[lane], message)

    def _settle(self):
        """Moves what finished watch polls brought into held; counts the empty ones; raises a poll's error."""
        failure = None
        for lane, future in list(self.pending.items()):
            if not future.done():
                continue
            del self.pending[lane]
            try:
                message = future.result()
            except Exception as error:  # noqa: BLE001 - raised below, once the others are settled
                failure = failure or error
                continue
            if message:
                self.held[lane] = message
            else:
                self.empties += 1
                if self.idle_rest[lane]:
                    self.rest_until[lane] = time.monotonic() + self.idle_rest[lane]
        if failure is not None:
            self.idle = False
            raise failure

    def next(self):
        order = self._order()
        self._settle()
        if not self.idle:
            # Busy: in order and without waiting; a lane that a watch poll still watches is left to it.
            message = self.next_now()
            if message is not None:
                return message
        # Idle: every lane watched by a long poll at once (a resting lane from the end of its rest).
        self.idle = True
        empties = self.empties
        while True:
            self._settle()
            for i, lane in enumerate(order):
                if lane not in self.held:
                    continue
                # A lane before it that no poll watches now is asked first, without waiting: a message may
                # have arrived there since its last poll came back.
                for before in order[:i]:
                    if before not in self.pending:
                        message = self.receive(self.urls[before], 0)
                        if message:
                            return self._take(before, message)
                return self._take(lane, self.held.pop(lane))
            if self.empties > empties:
                return None
            now, wake = time.monotonic(), None
            for lane in order:
                if lane in self.pending:
                    continue
                until = self.rest_until.get(lane, 0)
                if until <= now:
                    self.pending[lane] = self.pool.submit(self.receive, self.urls[lane], self.idle_wait[lane])
                else:
                    wake = until if wake is None else min(wake, until)
            wait_for(list(self.pending.values()), timeout=None if wake is None else max(0.0, wake - now), return_when=FIRST_COMPLETED)

    def next_now(self, lanes=None):
        """A message without waiting on an open poll: what a watch poll already brought, else one receive
        without waiting on each lane no poll watches (in lane order); None when neither. For a worker with
        other work at hand (stealing.py: a lane that keeps giving): its own lanes stay watched and come first.
        lanes: only those (the high lane, before a steal that comes before the own normal lane)."""
        self._settle()
        for lane in self._order():
            if lanes is not None and lane not in lanes:
                continue
            if lane in self.held:
                return self._take(lane, self.held.pop(lane))
            if lane in self.pending:
                continue
            message = self.receive(self.urls[lane], 0)
            if message:
                return self._take(lane, message)
        return None

    def close(self):
        """Stops watching: waits for the open polls; returns the LaneMessages held, to hand back (visibility 0)."""
        wait_for(list(self.pending.values()))
        try:
            self._settle()
        except Exception:  # noqa: BLE001 - a failed poll brought nothing
            pass
        held = [LaneMessage(lane, self.urls[lane], message) for lane, message in self.held.items()]
        self.held.clear()
        self.pool.shutdown()
        return held
