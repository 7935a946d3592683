"""The worker conformance suite (conformance/scenarios.json) run against the Python package (python/).

test/worker/python-conformance.test.ts starts the local stack (dynalite, fauxqs), runs the same scenarios
against the TypeScript worker, and runs this file with DYNAMODB_ENDPOINT, SQS_ENDPOINT and
IDEMPOTENCY_TABLE set (and SQS_ENDPOINTS: every region's SQS server, for the stealing scenarios' regions,
put on SERVERS in turn as the TypeScript runner does). The package is imported from the repository's python/ folder (not an installed
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
from botocore.exceptions import ClientError  # noqa: E402

import inference_dispatch_worker as idw  # noqa: E402

SCENARIOS = json.loads((HERE / "conformance" / "scenarios.json").read_text(encoding="utf-8"))["scenarios"]
REGION = "us-west-2"
TABLE = os.environ["IDEMPOTENCY_TABLE"]
sqs = boto3.client("sqs", region_name=REGION, endpoint_url=os.environ["SQS_ENDPOINT"])
dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=os.environ["DYNAMODB_ENDPOINT"])
DEFAULT_LEASE = 30
SERVERS = ["us-east-1", "us-west-1", "us-west-2"]
_ENDPOINTS = json.loads(os.environ.get("SQS_ENDPOINTS") or "{}")
SQS_OF = {server: boto3.client("sqs", region_name=server, endpoint_url=_ENDPOINTS[server]) for server in SERVERS if server in _ENDPOINTS}
COUNTERS = ("readings", "stolen", "handed_back_for_model", "sqs_requests", "dynamo_reads")


def item_leases(region):
    item = dynamodb.get_item(TableName=TABLE, Key={"request_id": {"S": idw.presence_key(region)}}, ConsistentRead=True).get("Item") or {}
    return idw.leases_from_attributes(item)


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
        # The scenario's regions (stealing, presence): lanes on one SQS server each, in turn.
        self.region_lanes, self.reporters, self.stealers, self.presence_seen = {}, {}, {}, {}
        self.long_polls = {}  # stealer -> own long polls (receives with a wait), and the count at its mark
        for index, name in enumerate(scenario.get("regions", [])):
            server = SERVERS[index % len(SERVERS)]
            if server not in SQS_OF:
                raise AssertionError(f"SQS_ENDPOINTS has no {server}: the stealing scenarios need every region's SQS server")
            client = SQS_OF[server]
            queues = {
                lane: client.create_queue(QueueName=f"cf-py-{name}-{lane}-{self.tag}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
                for lane in ("normal", "high")
            }
            self.region_lanes[name] = (client, queues)

    def region(self, name):
        """A scenario's region name (east) as this run's (cf-<tag>-east); '' stays ''."""
        return f"cf-{self.tag}-{name}" if name else name

    def scenario_region(self, region):
        prefix = f"cf-{self.tag}-"
        return region[len(prefix):] if region.startswith(prefix) else region

    def lanes_of(self, name=None):
        """(client, queues) of a scenario region, or of the scenario's default lanes."""
        if name is None:
            return sqs, self.queues
        return self.region_lanes[name]

    def reporter(self, step):
        name = step["worker"]
        if name not in self.reporters:
            self.reporters[name] = idw.PresenceReporter(
                dynamodb, TABLE, self.region(step["region"]), name,
                heartbeat_seconds=step.get("heartbeat"), lease_seconds=step.get("lease"), on_error=lambda error: None,
            )
        return self.reporters[name]

    def make_stealer(self, step):
        """A StealingReceiver for a worker of step['region'] (its own lanes polled without waiting), every scenario region given."""
        client, queues = self.lanes_of(step["region"])
        # watch_wait_seconds: the deployed receiver (its lanes watched by long polls of that wait, no rest).
        watch = step.get("watch_wait_seconds")
        polls = self.long_polls.setdefault(step.get("worker"), {"count": 0, "mark": 0})
        receive_one = idw.sqs_receive(client)

        def receive(url, wait):
            if wait > 0:
                polls["count"] += 1
            return receive_one(url, wait if watch is not None else 0)

        wait = watch if watch is not None else 0
        lanes = idw.LaneReceiver(receive, queues["normal"], queues["high"], idle_wait_seconds={"high": wait, "normal": wait}, idle_rest_seconds={"normal": 0})
        settings = dict(step.get("settings") or {})
        if isinstance(settings.get("allow_regions"), list):
            settings["allow_regions"] = [self.region(r) for r in settings["allow_regions"]]
        regions = [idw.StealRegion(self.region(name), c, q["normal"], q["high"]) for name, (c, q) in self.region_lanes.items()]
        return idw.StealingReceiver(self.region(step["region"]), lanes, regions, settings, dynamodb=dynamodb, table_name=TABLE, on_error=lambda error: None)

    def rid(self, step, key="request"):
        return step[key] if step.get("raw") else f"cf-{self.tag}-{step[key]}"

    def worker(self, name):
        if name not in self.workers:
            self.workers[name] = idw.Worker(idw.Fence(Throttled(dynamodb), TABLE), sqs, DEFAULT_LEASE, worker_id=name)
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
        for reporter in self.reporters.values():
            reporter.abandon()
        for receiver, own in self.stealers.values():
            client = self.lanes_of(own)[0]
            for taken in receiver.close():
                client.change_message_visibility(QueueUrl=taken.queue_url, ReceiptHandle=taken.message["ReceiptHandle"], VisibilityTimeout=0)
        for receiver in self.receivers.values():
            for taken in receiver.close():
                sqs.change_message_visibility(QueueUrl=taken.queue_url, ReceiptHandle=taken.message["ReceiptHandle"], VisibilityTimeout=0)
        for worker in self.workers.values():
            worker.kept.release()


class Throttled:
    """A worker's DynamoDB client: its next `throttles` updates (its accept writes) fail as a throttled table answers."""

    def __init__(self, client):
        self.client, self.throttles = client, 0

    def update_item(self, **request):
        if self.throttles > 0:
            self.throttles -= 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds the allowed throughput"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, "UpdateItem")
        return self.client.update_item(**request)

    def __getattr__(self, name):
        return getattr(self.client, name)


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
            client, queues = run.lanes_of(step.get("region"))
            attributes = {
                "request_id": {"DataType": "String", "StringValue": run.rid(step)},
                "dispatch_token": {"DataType": "String", "StringValue": step["token"]},
            }
            body = {"request_id": run.rid(step)}
            if step.get("smoke"):
                attributes["dispatch_smoke"] = {"DataType": "String", "StringValue": step["smoke"]}
            if step.get("model"):
                attributes["model_name"] = {"DataType": "String", "StringValue": step["model"]}
                body["model_name"] = step["model"]
            client.send_message(QueueUrl=queues[step["lane"]], MessageBody=json.dumps(body), MessageAttributes=attributes)
        elif op == "receive":
            client, queues = run.lanes_of(step.get("region"))
            url = queues[step["lane"]]
            messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=step.get("wait", 1), MessageAttributeNames=["All"]).get("Messages", [])
            self.assertEqual(len(messages), 1, "a message to receive")
            run.slots[step["as"]], run.slot_queue[step["as"]] = messages[0], url
            if step.get("same_as"):
                self.assertEqual(messages[0]["MessageId"], run.slots[step["same_as"]]["MessageId"])
        elif op == "expect_empty":
            client, queues = run.lanes_of(step.get("region"))
            messages = client.receive_message(QueueUrl=queues[step["lane"]], MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            self.assertEqual(messages, [], f"nothing visible in the {step['lane']} lane")
        elif op == "expect_visible":
            client, queues = run.lanes_of(step.get("region"))
            attributes = client.get_queue_attributes(QueueUrl=queues[step["lane"]], AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            self.assertEqual(int(attributes["ApproximateNumberOfMessages"]), step["count"], f"visible in {step.get('region')} {step['lane']}")
        elif op == "presence_start":
            run.reporter(step).start()
        elif op == "presence_renew":
            self.assertEqual(run.reporter(step).renew(), step["expect"])
        elif op == "presence_stop":
            self.assertEqual(run.reporter(step).stop(), step["expect"])
        elif op == "presence_abandon":
            run.reporter(step).abandon()
        elif op == "put_presence":
            now = int(time.time() * 1000)
            item = {"request_id": {"S": idw.presence_key(run.region(step["region"]))}}
            item.update({f"w_{worker}": {"N": str(now + int(offset * 1000))} for worker, offset in step["entries"].items()})
            dynamodb.put_item(TableName=TABLE, Item=item)
        elif op == "expect_presence":
            leases = item_leases(run.region(step["region"]))
            now = int(time.time() * 1000)
            self.assertEqual(sorted(w for w, until in leases.items() if until > now), sorted(step["live"]), ("live", leases, now))
            self.assertEqual(idw.count_presence(leases, now)["live"], len(step["live"]))
            if "lapsed" in step:
                self.assertEqual(sorted(w for w, until in leases.items() if until <= now), sorted(step["lapsed"]), ("lapsed", leases, now))
            for worker in step.get("absent", []):
                self.assertNotIn(worker, leases)
            if "later_than" in step:
                seen = run.presence_seen[step["later_than"]]
                for worker in step["live"]:
                    self.assertGreater(leases[worker], seen[worker], f"{worker} renewed")
            if "as" in step:
                run.presence_seen[step["as"]] = leases
        elif op == "expect_presence_counters":
            counters = run.reporter(step).counters()
            if "renewals_at_least" in step:
                self.assertGreaterEqual(counters["renewals"], step["renewals_at_least"], counters)
            for name in ("renewals", "failures", "forgotten", "writes"):
                if name in step:
                    self.assertEqual(counters[name], step[name], (name, counters))
        elif op == "stealer":
            run.stealers[step["worker"]] = (run.make_stealer(step), step["region"])
        elif op == "mark_long_polls":
            polls = run.long_polls[step["worker"]]
            polls["mark"] = polls["count"]
        elif op == "expect_long_polls_since_mark":
            polls = run.long_polls[step["worker"]]
            self.assertEqual(polls["count"] - polls["mark"], step["count"], "own long polls since the mark")
        elif op == "stealer_refused":
            with self.assertRaisesRegex(ValueError, step["error"]):
                run.make_stealer(step)
        elif op == "steal":
            receiver, own = run.stealers[step["worker"]]
            taken = receiver.next()
            expect = step["expect"]
            if expect is None:
                self.assertIsNone(taken)
                return
            self.assertIsNotNone(taken, "a message taken")
            self.assertEqual(run.scenario_region(taken.region), expect["region"])
            if "lane" in expect:
                self.assertEqual(taken.lane, expect["lane"])
            self.assertEqual(taken.stolen, expect["stolen"])
            if "request" in expect:
                self.assertEqual(taken.message["MessageAttributes"]["request_id"]["StringValue"], run.rid(expect))
            if "handle" in step:
                outcome = run.worker(step["worker"]).handle(taken.message, taken.queue_url, run.process(), sqs=taken.sqs or run.lanes_of(own)[0])
                self.assertEqual(label(outcome), step["handle"], outcome)
        elif op == "expect_steal_counters":
            receiver, _ = run.stealers[step["worker"]]
            counters = receiver.counters()
            for name in COUNTERS:
                if name in step:
                    self.assertEqual(counters[name], step[name], (name, counters))
            if "by_region" in step:
                by_region = {run.scenario_region(r): c for r, c in counters["by_region"].items()}
                self.assertEqual(sorted(by_region), sorted(step["by_region"]))
                for name, expected in step["by_region"].items():
                    for key, value in expected.items():
                        self.assertEqual(by_region[name][key], value, (name, key, by_region))
        elif op == "steal_race":
            outcomes, threads, failures = [], [], []
            start = threading.Barrier(len(step["workers"]))

            def stealer(name):
                receiver, _ = run.stealers[name]
                start.wait()
                taken = receiver.next()
                if taken is None or not taken.stolen:
                    failures.append((name, taken))
                    return
                outcomes.append(run.worker(name).handle(taken.message, taken.queue_url, run.process(step.get("work", 0)), sqs=taken.sqs))

            for name in step["workers"]:
                threads.append(threading.Thread(target=stealer, args=(name,)))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            self.assertEqual(failures, [], "every stealer stole a copy")
            counts = {}
            for outcome in outcomes:
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
            self.assertEqual(counts, step["expect_counts"], outcomes)
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
        elif op == "throttle":
            run.worker(step["worker"]).fence.dynamodb.throttles = step["count"]
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
