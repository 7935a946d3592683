"""The Python worker package (python/inference_dispatch_worker), as docs/worker-fence.md shows it,
against the local stack: long jobs, clock skew, lost leases, crashes, kept copies, smoke copies, the
request_id rule, and the lane receiver.

test/worker/python-fence.test.ts starts dynalite and fauxqs and runs this file with DYNAMODB_ENDPOINT,
SQS_ENDPOINT and IDEMPOTENCY_TABLE set. The package is imported from the repository's python/ folder.
Each Fence is one worker process's (its own watch): "another process" is another Fence.
"""
import json
import os
import pathlib
import sys
import threading
import time
import unittest
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import boto3  # noqa: E402

import inference_dispatch_worker as idw  # noqa: E402

TABLE = os.environ["IDEMPOTENCY_TABLE"]
sqs = boto3.client("sqs", region_name="us-west-2", endpoint_url=os.environ["SQS_ENDPOINT"])
dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=os.environ["DYNAMODB_ENDPOINT"])


def fence():
    return idw.Fence(dynamodb, TABLE)


def item(request_id):
    return dynamodb.get_item(TableName=TABLE, Key={"request_id": {"S": request_id}}, ConsistentRead=True).get("Item", {})


def short_queue():
    """A queue of its own, visibility 1 s: a copy whose visibility is not extended comes back at once."""
    return sqs.create_queue(QueueName=f"py-fence-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]


def send(url, request_id, token):
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({"request_id": request_id}),
        MessageAttributes={
            "request_id": {"DataType": "String", "StringValue": request_id},
            "dispatch_token": {"DataType": "String", "StringValue": token},
        },
    )


def receive(url, wait=1):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=wait, MessageAttributeNames=["All"]).get("Messages", [])


def heartbeats_alive():
    return [t for t in threading.enumerate() if t.name.startswith("heartbeat-") and t.is_alive()]


class PythonWorker(unittest.TestCase):
    def test_a_job_three_times_its_lease_is_processed_once(self):
        url = short_queue()
        request_id = f"req-{uuid.uuid4().hex[:10]}"
        send(url, request_id, "tok-a")
        [message] = receive(url)
        runs, outcomes = [], []
        # A 3 s lease, not 1 or 2: a heartbeat thread starved for a whole lease (a busy 2-core machine running
        # the suite; it was seen at 2 s) is taken over by design, and the job below would then rightly lose it.
        worker = idw.Worker(fence(), sqs, 3, worker_id="A")

        def slow(message, job):
            runs.append(job.request_id)
            time.sleep(9.5)
            self.assertFalse(job.lost.is_set())

        first = threading.Thread(target=lambda: outcomes.append(worker.handle(message, url, slow)))
        first.start()
        other = fence()
        refused_seen, received = 0, 0
        while first.is_alive():
            # SQS does not hand the copy out while the heartbeat extends its visibility...
            received += len(receive(url, wait=0))
            # ...and the same copy delivered twice anyway is refused by the fence, not processed.
            try:
                other.accept(request_id, "tok-a", "B", 3)
                self.fail("a second worker accepted a live lease")
            except idw.AcceptRefused as refused:
                if refused.reason == "ALREADY_COMPLETED":
                    # The first finished between the liveness check and this attempt (a busy machine).
                    first.join(timeout=5)
                    self.assertFalse(first.is_alive())
                    break
                self.assertEqual(refused.reason, "IN_FLIGHT")
                refused_seen += 1
            time.sleep(0.25)
        first.join()
        self.assertEqual([o.status for o in outcomes], [idw.PROCESSED])
        self.assertEqual(runs, [request_id])
        self.assertEqual(received, 0)
        self.assertGreaterEqual(refused_seen, 16)
        stored = item(request_id)
        self.assertEqual(stored["workStatus"]["S"], "COMPLETED")
        self.assertEqual(stored["acceptedBy"]["S"], "A")
        self.assertEqual(receive(url), [])  # deleted
        self.assertEqual(heartbeats_alive(), [])

    def test_skewed_clocks_take_over_only_after_watching(self):
        request_id = f"req-{uuid.uuid4().hex[:10]}"
        # A holder whose clock runs 5 minutes fast accepts, then dies: no heartbeat, no release.
        fence().accept(request_id, "tok-a", "dead", 1, now=int(time.time()) + 300)
        url = short_queue()
        send(url, request_id, "tok-a")
        [message] = receive(url)
        watcher = fence()
        # A watcher whose clock runs 5 minutes slow: refused first, whatever its clock says...
        with self.assertRaises(idw.AlreadyAccepted) as first:
            watcher.accept(request_id, "tok-a", "B", 1, now=int(time.time()) - 300)
        self.assertEqual(first.exception.reason, "IN_FLIGHT")
        self.assertGreaterEqual(first.exception.retry_after, 1)
        # ...and a fresh watcher elsewhere (another process's fence) does not take over either.
        with self.assertRaises(idw.AlreadyAccepted):
            fence().accept(request_id, "tok-a", "C", 1, now=int(time.time()) + 600)
        # Once this fence has watched the lease unchanged for its duration, the copy is taken over.
        time.sleep(1.2)
        runs = []
        outcome = idw.Worker(watcher, sqs, 1, worker_id="B").handle(message, url, lambda m, job: runs.append(job.request_id))
        self.assertEqual(outcome.status, idw.PROCESSED)
        self.assertEqual(runs, [request_id])
        stored = item(request_id)
        self.assertEqual((stored["acceptedBy"]["S"], stored["workStatus"]["S"]), ("B", "COMPLETED"))

    def test_a_heartbeat_that_finds_the_lease_taken_sets_lost_and_completion_is_refused(self):
        url = short_queue()
        request_id = f"req-{uuid.uuid4().hex[:10]}"
        send(url, request_id, "tok-a")
        [message] = receive(url)
        told = []

        def job(message, job):
            # Another acceptance replaces this one (an older worker that trusted its clock, say).
            dynamodb.put_item(
                TableName=TABLE,
                Item={"request_id": {"S": request_id}, "acceptedToken": {"S": "tok-a"}, "acceptedBy": {"S": "intruder"}, "workStatus": {"S": "ACCEPTED"}},
            )
            told.append(job.lost.wait(5))
            told.append(job.lost_reason().reason)

        outcome = idw.Worker(fence(), sqs, 1, worker_id="A").handle(message, url, job)
        self.assertEqual((outcome.status, outcome.reason), (idw.LEASE_LOST, "NOT_HOLDER"))
        self.assertEqual(told, [True, "NOT_HOLDER"])
        stored = item(request_id)
        self.assertEqual((stored["acceptedBy"]["S"], stored["workStatus"]["S"]), ("intruder", "ACCEPTED"))
        time.sleep(1.2)
        self.assertEqual(len(receive(url)), 1)  # not deleted: the copy is its holder's

    def test_a_job_that_throws_stops_its_heartbeat_and_releases(self):
        url = short_queue()
        request_id = f"req-{uuid.uuid4().hex[:10]}"
        send(url, request_id, "tok-a")
        [message] = receive(url)

        def crash(message, job):
            time.sleep(0.6)  # a beat or two first
            raise RuntimeError("GPU fell over")

        outcome = idw.Worker(fence(), sqs, 1, worker_id="A").handle(message, url, crash)
        self.assertEqual(outcome.status, idw.FAILED)
        self.assertIsInstance(outcome.error, RuntimeError)
        self.assertEqual(heartbeats_alive(), [])
        self.assertNotIn("acceptedToken", item(request_id))

    def test_a_dead_workers_copy_is_kept_while_watched_and_never_reaches_the_dlq(self):
        # As deployed: the queue moves a copy to its DLQ after 3 receives.
        name = f"py-keep-{uuid.uuid4().hex[:8]}"
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName=name,
            Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})},
        )["QueueUrl"]
        request_id = f"req-{uuid.uuid4().hex[:10]}"
        # Another process accepted this copy and died: no heartbeat, no release, no delete.
        fence().accept(request_id, "tok-a", "dead", 1)
        send(url, request_id, "tok-a")
        worker = idw.Worker(fence(), sqs, 1, worker_id="W")
        lanes = idw.LaneReceiver(idw.sqs_receive(sqs), url, idle_wait_seconds={"normal": 1})
        runs, elsewhere = [], 0
        deadline = time.monotonic() + 15
        try:
            while not runs and time.monotonic() < deadline:
                worker.turn(lanes, lambda message, job: runs.append(job.request_id))
                if len(worker.kept):
                    # Kept by this process while it watches: no other worker receives it meanwhile.
                    elsewhere += len(receive(url, wait=0))
        finally:
            lanes.close()
        self.assertEqual(runs, [request_id])
        self.assertEqual(len(worker.kept), 0)
        self.assertEqual(elsewhere, 0)
        stored = item(request_id)
        self.assertEqual((stored["acceptedBy"]["S"], stored["workStatus"]["S"]), ("W", "COMPLETED"))
        time.sleep(1.2)
        for queue in (url, dlq):
            counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            self.assertEqual(int(counts["ApproximateNumberOfMessages"]) + int(counts["ApproximateNumberOfMessagesNotVisible"]), 0, queue)

    def test_a_smoke_copy_is_left_to_the_smoke_command(self):
        # A queue whose visibility (60 s) is far longer than the test: only a hand-back shows it again.
        url = sqs.create_queue(QueueName=f"py-smoke-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        request_id = f"smoke-{uuid.uuid4().hex[:10]}"
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"request_id": request_id}),
            MessageAttributes={
                "request_id": {"DataType": "String", "StringValue": request_id},
                "dispatch_token": {"DataType": "String", "StringValue": "tok-s"},
                "dispatch_smoke": {"DataType": "String", "StringValue": "run-1"},
            },
        )
        [message] = receive(url)
        runs = []
        outcome = idw.Worker(fence(), sqs, 30, worker_id="A").handle(message, url, lambda m, job: runs.append(job.request_id))
        self.assertEqual((outcome.status, outcome.reason), (idw.SMOKE, "run-1"))
        self.assertEqual(runs, [])  # not processed
        self.assertEqual(item(request_id), {})  # not accepted: nothing written
        again = receive(url, wait=0)  # visible again at once, not deleted
        self.assertEqual([m["MessageId"] for m in again], [message["MessageId"]])

    def test_request_ids_the_intake_refuses(self):
        key = "#capacity#us-west-2"
        dynamodb.put_item(TableName=TABLE, Item={"request_id": {"S": key}, "capacity": {"N": "8"}})
        for bad in (key, "#health#us-east-1", "with space", "a" * 129, ""):
            with self.assertRaises(idw.InvalidRequestId):
                fence().accept(bad, "tok-a", "A", 30)
        self.assertEqual(item(key), {"request_id": {"S": key}, "capacity": {"N": "8"}})


class WorkerRun(unittest.TestCase):
    def test_the_loop_takes_both_lanes_processes_once_drops_duplicates_and_stops(self):
        tag = uuid.uuid4().hex[:8]
        high = sqs.create_queue(QueueName=f"py-run-high-{tag}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        normal = sqs.create_queue(QueueName=f"py-run-normal-{tag}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        ids = [f"req-{tag}-{i}" for i in range(4)]
        for i, request_id in enumerate(ids):
            send(high if i % 2 else normal, request_id, "tok-a")
        send(normal, ids[0], "tok-b")  # a second copy of one request
        runs, outcomes, stop = [], [], threading.Event()
        worker = idw.Worker(fence(), sqs, 30, worker_id="R")

        def seen(outcome):
            outcomes.append(outcome)
            if len(outcomes) == 5:
                stop.set()

        loop = threading.Thread(
            target=worker.run,
            args=(lambda message, job: runs.append(json.loads(message["Body"])["request_id"]), normal, high),
            kwargs={"stop": stop, "on_outcome": seen, "lane_options": {"idle_wait_seconds": {"high": 1, "normal": 1}}},
        )
        loop.start()
        loop.join(30)
        stop.set()
        loop.join(10)
        self.assertFalse(loop.is_alive())
        self.assertEqual(sorted(runs), sorted(ids))
        self.assertEqual(sorted(o.status for o in outcomes), [idw.DROPPED] + [idw.PROCESSED] * 4)
        for request_id in ids:
            self.assertEqual(item(request_id)["workStatus"]["S"], "COMPLETED")
        self.assertEqual(receive(high, wait=0) + receive(normal, wait=0), [])


class LaneReceiverOnTheStack(unittest.TestCase):
    """The lane receiver with 1 s waits and a 1 s rest, so that idle rounds take a second or two."""

    def setUp(self):
        tag = uuid.uuid4().hex[:8]
        self.high = sqs.create_queue(QueueName=f"py-lanes-high-{tag}")["QueueUrl"]
        self.normal = sqs.create_queue(QueueName=f"py-lanes-normal-{tag}")["QueueUrl"]
        self.receives = []
        self.counting = lambda params, **kwargs: self.receives.append(params["QueueUrl"])
        sqs.meta.events.register("provide-client-params.sqs.ReceiveMessage", self.counting)
        self.lanes = idw.LaneReceiver(idw.sqs_receive(sqs), self.normal, self.high, idle_wait_seconds={"high": 1, "normal": 1}, idle_rest_seconds={"high": 0, "normal": 1})

    def tearDown(self):
        sqs.meta.events.unregister("provide-client-params.sqs.ReceiveMessage", self.counting)
        for taken in self.lanes.close():
            sqs.change_message_visibility(QueueUrl=taken.queue_url, ReceiptHandle=taken.message["ReceiptHandle"], VisibilityTimeout=0)

    def take(self):
        taken = self.lanes.next()
        if taken:
            sqs.delete_message(QueueUrl=taken.queue_url, ReceiptHandle=taken.message["ReceiptHandle"])
        return taken

    def test_busy_takes_the_lanes_in_order_without_waiting(self):
        for i in range(8):
            sqs.send_message(QueueUrl=self.high, MessageBody=f"high-{i}")
        for i in range(2):
            sqs.send_message(QueueUrl=self.normal, MessageBody=f"normal-{i}")
        lanes_taken = [self.take().lane for _ in range(10)]
        self.assertEqual(lanes_taken, ["high"] * idw.STARVATION_LIMIT + ["normal"] + ["high"] * 4 + ["normal"])

    def test_idle_watches_both_lanes_and_takes_high_first_when_both_answer(self):
        self.assertIsNone(self.take())  # idle: an empty watch poll
        sqs.send_message(QueueUrl=self.normal, MessageBody="normal-0")
        sqs.send_message(QueueUrl=self.high, MessageBody="high-0")
        time.sleep(0.5)  # both watch polls, or the next ones, have answered
        bodies = []
        for _ in range(6):
            taken = self.take()
            if taken:
                bodies.append((taken.lane, taken.message["Body"]))
            if len(bodies) == 2:
                break
        self.assertEqual(bodies, [("high", "high-0"), ("normal", "normal-0")])
        self.assertEqual(receive(self.high, wait=0) + receive(self.normal, wait=0), [])  # nothing left, nothing lost

    def test_an_idle_receiver_makes_one_receive_per_wait_and_rest(self):
        self.assertIsNone(self.take())
        self.receives.clear()
        started = time.monotonic()
        while time.monotonic() - started < 6:
            self.assertIsNone(self.take())
        elapsed = time.monotonic() - started
        # The high lane: one per 1 s wait; the normal lane: one per 1 s wait + 1 s rest (and one poll open at each end).
        self.assertLessEqual(self.receives.count(self.high), elapsed / 1 + 2)
        self.assertLessEqual(self.receives.count(self.normal), elapsed / 2 + 2)
        self.assertGreaterEqual(self.receives.count(self.normal), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
