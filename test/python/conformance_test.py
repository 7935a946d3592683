"""The worker conformance suite (conformance/scenarios.json) run against the Python package (python/).

test/worker/python-conformance.test.ts starts the local stack (dynalite, fauxqs), runs the same scenarios
against the TypeScript worker, and runs this file with DYNAMODB_ENDPOINT, SQS_ENDPOINT and
IDEMPOTENCY_TABLE set. The package is imported from the repository's python/ folder (not an installed
copy), so the suite tests the tree it is in. One test per scenario.
"""
import json
import os
import pathlib
import sys
import threading
import time
import unittest
import uuid

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "python"))

import boto3  # noqa: E402

import inference_dispatch_worker as idw  # noqa: E402

SCENARIOS = json.loads((HERE / "conformance" / "scenarios.json").read_text(encoding="utf-8"))["scenarios"]
REGION = "us-west-2"
TABLE = os.environ["IDEMPOTENCY_TABLE"]
sqs = boto3.client("sqs", region_name=REGION, endpoint_url=os.environ["SQS_ENDPOINT"])
dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=os.environ["DYNAMODB_ENDPOINT"])
DEFAULT_LEASE = 30


class Run:
    """One scenario's state: its queues, its workers (each with a Fence of its own, as a process has), the
    messages received into named slots, and the jobs each request ran."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.tag = uuid.uuid4().hex[:8]
        visibility = str(scenario.get("visibility", 30))
        self.queues = {
            lane: sqs.create_queue(QueueName=f"cf-py-{lane}-{self.tag}", Attributes={"VisibilityTimeout": visibility})["QueueUrl"]
            for lane in ("normal", "high")
        }
        self.workers, self.receivers, self.counts, self.leases = {}, {}, {}, {}
        self.slots, self.slot_queue, self.jobs, self.runs = {}, {}, {}, {}
        self.lock = threading.Lock()

    def rid(self, step, key="request"):
        return step[key] if step.get("raw") else f"cf-{self.tag}-{step[key]}"

    def worker(self, name):
        if name not in self.workers:
            self.workers[name] = idw.Worker(idw.Fence(dynamodb, TABLE), sqs, DEFAULT_LEASE, worker_id=name)
        return self.workers[name]

    def process(self, work=0.0, fail=False):
        def job(message, job):
            with self.lock:
                self.runs[job.request_id] = self.runs.get(job.request_id, 0) + 1
            time.sleep(work)
            if fail:
                raise RuntimeError("the job failed")
            return "done"

        return job

    def outcome(self, step):
        worker = self.worker(step["worker"])
        message = self.slots[step["message"]]
        result = worker.handle(message, self.slot_queue[step["message"]], self.process(step.get("work", 0), step.get("fail", False)), lease_seconds=step.get("lease"))
        return result

    def receiver(self, step):
        name = step["worker"]
        if name not in self.receivers:
            counts = {"high": 0, "normal": 0}
            lane_of = {url: lane for lane, url in self.queues.items()}
            receive = idw.sqs_receive(sqs)

            def counting(queue_url, wait):
                with self.lock:
                    counts[lane_of[queue_url]] += 1
                return receive(queue_url, wait)

            self.counts[name] = counts
            self.receivers[name] = idw.LaneReceiver(
                counting, self.queues["normal"], self.queues["high"],
                idle_wait_seconds=step.get("idle_wait_seconds"), idle_rest_seconds=step.get("idle_rest_seconds"),
            )
        return self.receivers[name]

    def close(self):
        for receiver in self.receivers.values():
            for taken in receiver.close():
                sqs.change_message_visibility(QueueUrl=taken.queue_url, ReceiptHandle=taken.message["ReceiptHandle"], VisibilityTimeout=0)
        for worker in self.workers.values():
            worker.kept.release()


def label(outcome):
    return outcome.status if outcome.status not in ("DROPPED", "LEASE_LOST") else f"{outcome.status}:{outcome.reason}"


def item_of(request_id):
    item = dynamodb.get_item(TableName=TABLE, Key={"request_id": {"S": request_id}}, ConsistentRead=True).get("Item")
    return None if item is None else {k: (v.get("S") if "S" in v else float(v["N"]) if "N" in v else v) for k, v in item.items()}


def typed(value):
    return {"N": str(value)} if isinstance(value, (int, float)) else {"S": str(value)}


class Conformance(unittest.TestCase):
    def run_scenario(self, scenario):
        run = Run(scenario)
        try:
            for index, step in enumerate(scenario["steps"]):
                with self.subTest(step=index, op=step["op"]):
                    self.step(run, step)
        finally:
            run.close()

    def step(self, run, step):
        op = step["op"]
        if op == "send":
            attributes = {
                "request_id": {"DataType": "String", "StringValue": run.rid(step)},
                "dispatch_token": {"DataType": "String", "StringValue": step["token"]},
            }
            if step.get("smoke"):
                attributes["dispatch_smoke"] = {"DataType": "String", "StringValue": step["smoke"]}
            sqs.send_message(QueueUrl=run.queues[step["lane"]], MessageBody=json.dumps({"request_id": run.rid(step)}), MessageAttributes=attributes)
        elif op == "receive":
            url = run.queues[step["lane"]]
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages", [])
            self.assertEqual(len(messages), 1, "a message to receive")
            run.slots[step["as"]], run.slot_queue[step["as"]] = messages[0], url
            if step.get("same_as"):
                self.assertEqual(messages[0]["MessageId"], run.slots[step["same_as"]]["MessageId"])
        elif op == "expect_empty":
            messages = sqs.receive_message(QueueUrl=run.queues[step["lane"]], MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            self.assertEqual(messages, [], f"nothing visible in the {step['lane']} lane")
        elif op == "handle":
            outcome = run.outcome(step)
            self.assertEqual(label(outcome), step["expect"], outcome)
            if "kept" in step:
                self.assertEqual(outcome.kept, step["kept"])
        elif op == "handle_due":
            outcome = run.worker(step["worker"]).handle_due(run.process(step.get("work", 0)), lease_seconds=step.get("lease"))
            self.assertIsNotNone(outcome, "a kept copy due")
            self.assertEqual(label(outcome), step["expect"], outcome)
        elif op == "start":
            box = {}
            thread = threading.Thread(target=lambda: box.update(outcome=run.outcome(step)))
            thread.start()
            run.jobs[step["as"]] = (thread, box)
        elif op == "join":
            thread, box = run.jobs.pop(step["job"])
            thread.join(60)
            self.assertEqual(label(box["outcome"]), step["expect"], box.get("outcome"))
        elif op == "race":
            outcomes, threads = [], []
            start = threading.Barrier(len(step["handles"]))

            def racer(handle):
                start.wait()
                outcomes.append(run.outcome(handle))

            for handle in step["handles"]:
                threads.append(threading.Thread(target=racer, args=(handle,)))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            counts = {}
            for outcome in outcomes:
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
            self.assertEqual(counts, step["expect_counts"], outcomes)
        elif op == "accept":
            worker = run.worker(step["worker"])
            try:
                lease = worker.fence.accept(run.rid(step), step["token"], step["worker"], step["lease"])
                got = "ACCEPTED"
                run.leases[(step["worker"], run.rid(step))] = lease
            except idw.InvalidRequestId:
                got = "INVALID"
            except idw.AcceptRefused as refused:
                got = refused.reason
            self.assertEqual(got, step["expect"])
        elif op == "complete":
            worker = run.worker(step["worker"])
            lease = run.leases.get((step["worker"], run.rid(step))) or idw.Lease(run.rid(step), step["token"], step["worker"])
            try:
                worker.fence.complete(lease)
                got = "COMPLETED"
            except idw.NotHolder:
                got = "NOT_HOLDER"
            self.assertEqual(got, step["expect"])
        elif op == "put_record":
            item = {"request_id": {"S": run.rid(step)}, **{k: typed(v) for k, v in step["item"].items()}}
            dynamodb.put_item(TableName=TABLE, Item=item)
        elif op == "expect_record":
            item = item_of(run.rid(step))
            if step.get("absent"):
                self.assertIsNone(item)
                return
            self.assertIsNotNone(item, "a record")
            for name, value in step.get("fields", {}).items():
                self.assertEqual(item.get(name), value, name)
            for name in step.get("absent_fields", []):
                self.assertNotIn(name, item)
            if "exactly" in step:
                self.assertEqual(item, {"request_id": run.rid(step), **step["exactly"]})
        elif op == "expect_runs":
            self.assertEqual(run.runs.get(run.rid(step), 0), step["count"])
        elif op == "sleep":
            time.sleep(step["seconds"])
        elif op == "next":
            receiver, worker = run.receiver(step), run.worker(step["worker"])
            lanes, tries = [], 0
            while len(lanes) < len(step["expect_lanes"]) and tries < len(step["expect_lanes"]) + 6:
                tries += 1
                taken = receiver.next()
                if taken is None:
                    continue
                lanes.append(taken.lane)
                self.assertEqual(label(worker.handle(taken.message, taken.queue_url, run.process())), "PROCESSED")
            self.assertEqual(lanes, step["expect_lanes"])
        elif op == "lane_defaults":
            expect = step["expect"]
            self.assertEqual(idw.STARVATION_LIMIT, expect["starvation_limit"])
            self.assertEqual(idw.LANE_RECEIVE["idle_wait_seconds"], expect["idle_wait_seconds"])
            self.assertEqual(idw.LANE_RECEIVE["idle_rest_seconds"], expect["idle_rest_seconds"])
        elif op == "idle":
            receiver = run.receiver(step)
            self.assertIsNone(receiver.next())  # idle: the first empty watch poll
            counts = run.counts[step["worker"]]
            with run.lock:
                counts.update(high=0, normal=0)
            started = time.monotonic()
            while time.monotonic() - started < step["seconds"]:
                self.assertIsNone(receiver.next())
            elapsed = time.monotonic() - started
            for lane in ("high", "normal"):
                cycle = step["idle_wait_seconds"][lane] + step["idle_rest_seconds"][lane]
                self.assertLessEqual(counts[lane], elapsed / cycle + step["slack"], (lane, counts, elapsed))
                self.assertGreaterEqual(counts[lane], max(1, elapsed / cycle - step["slack"]), (lane, counts, elapsed))
        else:
            raise AssertionError(f"unknown step {op}")


def _make(scenario):
    def test(self):
        self.run_scenario(scenario)

    test.__doc__ = scenario["name"]
    return test


for _number, _scenario in enumerate(SCENARIOS, 1):
    setattr(Conformance, f"test_{_number:02d}", _make(_scenario))


if __name__ == "__main__":
    unittest.main(verbosity=2)
