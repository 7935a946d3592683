"""The package's own rules, without the local stack: the boto3 check made on import, the request_id
rule, identities and smoke copies read from messages, the pyproject's metadata; the stealing choice rule
over the cases test/core's rule is run on too (conformance/steal-choices.json), the stealing settings, and
presence's rules and requests (a recording client). Run by test/worker/python-package.test.ts."""
import dataclasses
import json
import pathlib
import sys
import threading
import time
import unittest

from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import inference_dispatch_worker as idw  # noqa: E402
from inference_dispatch_worker import _requirements  # noqa: E402


class Boto3Check(unittest.TestCase):
    def test_debian_boto3_is_refused_naming_both_versions(self):
        with self.assertRaises(ImportError) as refused:
            _requirements.check_versions("1.26.27", "1.29.27")
        text = str(refused.exception)
        for part in ("boto3 1.26.27 is installed", "botocore 1.29.27 is installed", ">= 1.34.90", "Unknown action: ReceiveMessage"):
            self.assertIn(part, text)

    def test_the_last_query_protocol_release_is_refused_and_the_first_json_one_taken(self):
        with self.assertRaises(ImportError):
            _requirements.check_versions("1.34.89", "1.34.89")
        _requirements.check_versions("1.34.90", "1.34.90")
        _requirements.check_versions("1.43.11", "1.43.11")
        _requirements.check_versions("2.0.0rc1", "2.0.0")

    def test_a_new_boto3_on_an_old_botocore_is_refused(self):
        with self.assertRaises(ImportError) as refused:
            _requirements.check_versions("1.35.0", "1.31.80")
        self.assertIn("botocore 1.31.80 is installed", str(refused.exception))
        self.assertNotIn("boto3 1.35.0 is installed", str(refused.exception))

    def test_the_installed_boto3_passes_and_pyproject_asks_for_the_same_minimum(self):
        _requirements.check_installed()
        import tomllib

        project = tomllib.loads((ROOT / "python" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        self.assertIn("boto3>=" + ".".join(map(str, idw.MIN_BOTO3)), project["dependencies"])
        self.assertEqual(project["version"], idw.__version__)


class RequestIds(unittest.TestCase):
    def test_the_intake_rule(self):
        for good in ("req-1", "a.b_c:d-e", "x" * 128):
            idw.check_request_id(good)
        for bad in ("", "#capacity#us-west-2", "with space", "x" * 129, "é", None, 7):
            with self.assertRaises(idw.InvalidRequestId, msg=repr(bad)):
                idw.check_request_id(bad)


def message(attributes=None, body='{"request_id": "from-body"}', message_id="mid-1"):
    return {"MessageId": message_id, "Body": body, "ReceiptHandle": "rh", "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()}}


class Identities(unittest.TestCase):
    def test_attributes_first(self):
        identity = idw.dispatch_identity(message({"request_id": "r1", "dispatch_token": "t1"}))
        self.assertEqual((identity.request_id, identity.token, identity.fallbacks), ("r1", "t1", ()))

    def test_fallbacks_to_the_body_and_the_message_id(self):
        identity = idw.dispatch_identity(message())
        self.assertEqual((identity.request_id, identity.token, len(identity.fallbacks)), ("from-body", "mid-1", 2))

    def test_a_lambda_record(self):
        record = {"messageId": "m", "body": "{}", "messageAttributes": {"request_id": {"stringValue": "r2"}, "dispatch_token": {"stringValue": "t2"}}}
        identity = idw.dispatch_identity(record)
        self.assertEqual((identity.request_id, identity.token), ("r2", "t2"))

    def test_no_request_id_at_all_and_an_invalid_one(self):
        with self.assertRaises(idw.NoDispatchIdentity):
            idw.dispatch_identity(message(body="not json"))
        with self.assertRaises(idw.InvalidRequestId):
            idw.dispatch_identity(message({"request_id": "#health#us-east-1", "dispatch_token": "t"}))

    def test_smoke_copies(self):
        self.assertEqual(idw.smoke_run_of_copy(message({"dispatch_smoke": "run-1"})), "run-1")
        self.assertIsNone(idw.smoke_run_of_copy(message({"dispatch_smoke": "bad run"})))
        self.assertIsNone(idw.smoke_run_of_copy(message()))


CHOICES = json.loads((ROOT / "test" / "python" / "conformance" / "steal-choices.json").read_text(encoding="utf-8"))


class StealChoice(unittest.TestCase):
    """choose_steal over the cases that core/stealing.ts runs in test/worker/python-conformance.test.ts."""

    def test_the_shared_cases(self):
        self.assertGreaterEqual(len(CHOICES["cases"]), 7)
        for case in CHOICES["cases"]:
            with self.subTest(case["name"]):
                settings = {"allow_regions": CHOICES["base_allow_regions"], **case["settings"]}
                candidates = [idw.StealCandidate(**c) for c in case["candidates"]]
                rule = idw.choose_before_own_normal if case.get("rule") == "before_own_normal" else idw.choose_steal
                got = rule(case["own_region"], candidates, settings)
                self.assertEqual(None if got is None else dataclasses.asdict(got), case["expect"])

    def test_serves_model(self):
        for case in CHOICES["serves_model"]:
            self.assertIs(idw.serves_model(case["models"], case["model"]), case["expect"], case)


class StealingSettings(unittest.TestCase):
    def test_defaults_are_core_s_and_off(self):
        settings = idw.parse_stealing_settings()
        self.assertEqual(settings, idw.StealingSettings((), None, 1, 30, None))
        # As core/stealing.ts: a high lane anywhere and a fleetless region before the own normal lane.
        self.assertEqual((settings.other_high_first, settings.fleetless_first), (True, True))
        self.assertRegex(str(self._refused(other_high_first="yes")), "other_high_first: expected true or false")
        self.assertEqual(idw.parse_stealing_settings({"allow_regions": ["us-west-2"]}, max_latency_ms=150).max_latency_ms, 150)

    def _refused(self, **settings):
        with self.assertRaises(idw.StealingSettingsError) as caught:
            idw.parse_stealing_settings(settings)
        return caught.exception

    def test_bad_settings_are_refused_naming_each_field(self):
        for settings, text in (
            ({"allow_regions": [""]}, "stealing: allow_regions.0: must not be empty"),
            ({"allow_regions": "us-west-2"}, "stealing: allow_regions: expected a list of strings"),
            ({"max_latency_ms": -1}, "stealing: max_latency_ms: expected a number > 0"),
            ({"max_latency_ms": 0}, "max_latency_ms: expected a number > 0"),
            ({"min_backlog_per_worker": "x"}, "stealing: min_backlog_per_worker: expected a number >= 0"),
            ({"min_backlog_per_worker": float("nan")}, "min_backlog_per_worker"),
            ({"check_every_seconds": 0}, "check_every_seconds: expected a number > 0"),
            ({"models": [3]}, "models.0: expected a string"),
            ({"allowRegions": ["us-west-2"]}, "unknown setting allowRegions"),
        ):
            with self.subTest(settings):
                with self.assertRaises(idw.StealingSettingsError) as refused:
                    idw.parse_stealing_settings(settings)
                self.assertIn(text, str(refused.exception))
        with self.assertRaises(ValueError) as refused:
            idw.parse_stealing_settings({"max_latency_ms": -1, "check_every_seconds": -1})
        self.assertIn("max_latency_ms", str(refused.exception))
        self.assertIn("check_every_seconds", str(refused.exception))

    def test_a_region_allowed_without_queues_is_refused_and_none_allowed_makes_no_request(self):
        class Lanes:
            def next(self):
                return None

            def close(self):
                return []

        with self.assertRaisesRegex(ValueError, "allow_regions names eu-west-9, for which no queues were given"):
            idw.StealingReceiver("us-east-1", Lanes(), [], {"allow_regions": ["eu-west-9"]})
        with self.assertRaisesRegex(ValueError, "presence needs both dynamodb and table_name"):
            idw.StealingReceiver("us-east-1", Lanes(), [], {}, dynamodb=object())
        off = idw.StealingReceiver("us-east-1", Lanes(), [idw.StealRegion("us-west-2", object(), "n", "h")], {"allow_regions": ["us-east-1"]})
        self.assertFalse(off.enabled)
        self.assertIsNone(off.next())
        self.assertEqual(off.counters(), {"readings": 0, "stolen": 0, "handed_back_for_model": 0, "sqs_requests": 0, "dynamo_reads": 0, "by_region": {}})


class Recording:
    """A DynamoDB client that records update_item calls and answers with an item (or raises)."""

    def __init__(self, answers=()):
        self.calls, self.answers = [], list(answers)

    def update_item(self, **request):
        self.calls.append(request)
        answer = self.answers.pop(0) if self.answers else {"Attributes": {}}
        if isinstance(answer, Exception):
            raise answer
        return answer


def failed(code):
    return ClientError({"Error": {"Code": code, "Message": code}}, "UpdateItem")


class Presence(unittest.TestCase):
    def test_rules(self):
        self.assertEqual(idw.PRESENCE, {"heartbeat_seconds": 20, "lease_seconds": 60, "forget_after_seconds": 600})
        self.assertEqual(idw.presence_key("us-west-2"), "#presence#us-west-2")
        self.assertEqual(idw.presence_attribute("gpu-1.a:b_c"), "w_gpu-1.a:b_c")
        for bad in ("", "bad id", "x" * 101, "a/b"):
            with self.assertRaises(ValueError):
                idw.check_worker_id(bad)
        leases = idw.leases_from_attributes({"request_id": {"S": "#presence#r"}, "w_a": {"N": "1000"}, "w_b": 2000, "w_c": {"S": "x"}, "other": 5})
        self.assertEqual(leases, {"a": 1000, "b": 2000})
        self.assertEqual(idw.count_presence(leases, 1500), {"live": 1, "lapsed": 1, "live_until": 2000})
        self.assertEqual(idw.count_presence({}, 0), {"live": 0, "lapsed": 0, "live_until": None})
        self.assertEqual(idw.forgettable({"a": 1000, "b": 5000}, 601_000), ["a"])

    def test_bad_settings_are_refused(self):
        with self.assertRaisesRegex(ValueError, "presence: worker_id may hold only"):
            idw.PresenceReporter(Recording(), "t", "r", "bad id")
        with self.assertRaisesRegex(ValueError, r"presence: lease_seconds \(0.4\) must be longer than heartbeat_seconds \(0.5\)"):
            idw.PresenceReporter(Recording(), "t", "r", "ok", heartbeat_seconds=0.5, lease_seconds=0.4)
        with self.assertRaisesRegex(ValueError, "presence: table_name is required"):
            idw.PresenceReporter(Recording(), "", "r", "ok")

    def test_one_update_per_renewal_removing_forgettable_entries_only_if_unchanged(self):
        now = 10_000_000.0
        old = int(now * 1000) - 3_600_000
        client = Recording([
            {"Attributes": {"w_me": {"N": "1"}, "w_gone": {"N": str(old)}}},
            failed("ConditionalCheckFailedException"),
            {"Attributes": {"w_me": {"N": "2"}, "w_gone": {"N": str(old + 1)}}},
        ])
        reporter = idw.PresenceReporter(client, "table", "us-west-2", "me", clock=lambda: now)
        self.assertTrue(reporter.renew())
        first = client.calls[0]
        self.assertEqual(first["Key"], {"request_id": {"S": "#presence#us-west-2"}})
        self.assertEqual(first["UpdateExpression"], "SET #me = :until")
        self.assertEqual(first["ExpressionAttributeValues"], {":until": {"N": str(int(now * 1000) + 60_000)}})
        self.assertNotIn("ConditionExpression", first)
        self.assertEqual(first["ReturnValues"], "ALL_NEW")
        self.assertTrue(reporter.renew())  # removal refused: written again at once without it
        second, third = client.calls[1], client.calls[2]
        self.assertEqual(second["UpdateExpression"], "SET #me = :until REMOVE #f0")
        self.assertEqual(second["ConditionExpression"], "#f0 = :f0")
        self.assertEqual(second["ExpressionAttributeNames"]["#f0"], "w_gone")
        self.assertEqual(second["ExpressionAttributeValues"][":f0"], {"N": str(old)})
        self.assertEqual(third["UpdateExpression"], "SET #me = :until")
        self.assertEqual(reporter.counters(), {"renewals": 2, "failures": 0, "forgotten": 0, "writes": 3, "write_units": 0, "heartbeat_seconds": 20, "lease_seconds": 60})
        self.assertEqual(first["ReturnConsumedCapacity"], "TOTAL")

    def test_beats_spaced_by_the_item_s_billed_units_the_lease_covering_three(self):
        now = 10_000_000.0
        big = {"Attributes": {"w_me": {"N": "1"}}, "ConsumedCapacity": {"TableName": "table", "CapacityUnits": 3.0}}
        client = Recording([big, big])
        reporter = idw.PresenceReporter(client, "table", "r", "me", clock=lambda: now)
        self.assertTrue(reporter.renew())
        # The first lease was written before the size was known: the next beat is not later than it covers thrice.
        self.assertEqual(client.calls[0]["ExpressionAttributeValues"][":until"], {"N": str(int(now * 1000) + 60_000)})
        self.assertEqual((reporter.counters()["heartbeat_seconds"], reporter.counters()["lease_seconds"]), (20, 180))
        self.assertTrue(reporter.renew())
        self.assertEqual(client.calls[1]["ExpressionAttributeValues"][":until"], {"N": str(int(now * 1000) + 180_000)})
        counters = reporter.counters()
        self.assertEqual((counters["heartbeat_seconds"], counters["lease_seconds"], counters["write_units"]), (60, 180, 6.0))
        fixed = idw.PresenceReporter(Recording([big, big]), "table", "r", "me", clock=lambda: now, scale_with_item_size=False)
        fixed.renew()
        fixed.renew()
        self.assertEqual((fixed.counters()["heartbeat_seconds"], fixed.counters()["lease_seconds"]), (20, 60))

    def test_errors_are_reported_and_retried_never_raised_and_stop_removes_its_entry(self):
        errors = []
        client = Recording([failed("ResourceNotFoundException")] * 3)
        reporter = idw.PresenceReporter(client, "table", "r", "me", heartbeat_seconds=0.02, lease_seconds=0.1, on_error=errors.append)
        reporter.start()
        deadline = time.monotonic() + 3
        while reporter.counters()["failures"] < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertGreaterEqual(reporter.counters()["failures"], 3)
        self.assertTrue(reporter.stop())
        self.assertEqual(client.calls[-1]["UpdateExpression"], "REMOVE #me")
        self.assertEqual(client.calls[-1]["ExpressionAttributeNames"], {"#me": "w_me"})
        self.assertEqual(errors[0].response["Error"]["Code"], "ResourceNotFoundException")
        self.assertFalse(any(t.name == "presence-me" for t in threading.enumerate()))
        failing = idw.PresenceReporter(Recording([failed("AccessDeniedException")]), "table", "r", "me", on_error=lambda error: 1 / 0)
        self.assertFalse(failing.stop())  # reported (and the callback's own error swallowed), not raised


class StolenCopies(unittest.TestCase):
    """Worker.run on a StealingReceiver: a stolen copy is deleted through its own region's client."""

    def test_the_loop_deletes_a_stolen_copy_with_its_region_s_client(self):
        class Sqs:
            def __init__(self):
                self.calls = []

            def delete_message(self, **request):
                self.calls.append(("delete", request["QueueUrl"]))

            def change_message_visibility(self, **request):
                self.calls.append(("visibility", request["QueueUrl"], request["VisibilityTimeout"]))

        class Fence:
            monotonic = staticmethod(time.monotonic)

            def accept(self, request_id, token, worker_id, lease_seconds):
                return idw.Lease(request_id, token, worker_id, lease_seconds=lease_seconds, valid_until=time.time() + lease_seconds, record={})

            def complete(self, lease):
                pass

        own, west = Sqs(), Sqs()
        copy = {"ReceiptHandle": "rh", "Body": "{}", "MessageAttributes": {
            "request_id": {"DataType": "String", "StringValue": "r-1"}, "dispatch_token": {"DataType": "String", "StringValue": "t"}}}
        stop = threading.Event()

        class Receiver:
            given = [idw.TakenMessage("normal", "west-normal", copy, "us-west-2", True, west)]

            def next(self):
                if not self.given:
                    stop.set()
                    return None
                return self.given.pop()

            def close(self):
                return []

        outcomes = []
        idw.Worker(Fence(), own, 30, worker_id="w").run(lambda message, job: "ok", receiver=Receiver(), stop=stop, on_outcome=outcomes.append)
        self.assertEqual([o.status for o in outcomes], ["PROCESSED"])
        self.assertEqual(west.calls, [("delete", "west-normal")])
        self.assertEqual(own.calls, [])
        with self.assertRaisesRegex(TypeError, "normal_url"):
            idw.Worker(Fence(), own, 30).run(lambda message, job: None)


class TransientAccept(unittest.TestCase):
    """A transient acceptance failure (a throttle, a 5xx, DynamoDB unreachable) is tried again in process by
    Worker.handle, the copy's visibility extended meanwhile: never left to its visibility timeout, which
    would spend one of its receives. Past the window the copy is handed back (visibility 0) and the error
    raised. As worker/transient.ts; a real Fence on a DynamoDB client that throttles the first writes."""

    class Dynamo:
        """Throttles (or fails with `error`) the first `failures` accept writes, then accepts."""

        def __init__(self, failures, error=None):
            self.failures, self.error, self.writes = failures, error, 0

        def update_item(self, **request):
            self.writes += 1
            if self.writes <= self.failures:
                raise self.error or failed("ProvisionedThroughputExceededException")
            values = request["ExpressionAttributeValues"]
            if ":version" not in values:  # the completion
                return {"Attributes": {"request_id": request["Key"]["request_id"], "workStatus": {"S": "COMPLETED"}}}
            return {"Attributes": {
                "request_id": request["Key"]["request_id"], "status": {"S": "DISPATCHED"}, "workStatus": {"S": "ACCEPTED"},
                "acceptedToken": values[":token"], "acceptedBy": values[":worker"], "leaseVersion": values[":version"],
                "acceptedUntil": values[":until"], "leaseSeconds": values[":leaseSeconds"]}}

    class Sqs:
        def __init__(self):
            self.calls = []

        def delete_message(self, **request):
            self.calls.append(("delete",))

        def change_message_visibility(self, **request):
            self.calls.append(("visibility", request["VisibilityTimeout"]))

    def setUp(self):
        self.now = [1000.0]
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now[0] += seconds

    def worker(self, dynamo, sqs, **retry):
        fence = idw.Fence(dynamo, "table", monotonic=lambda: self.now[0])
        options = retry.pop("transient_retry", None)
        if options is None:
            options = idw.TransientRetry(sleep=self.sleep, random=lambda: 0.5, **retry)
        return idw.Worker(fence, sqs, 60, worker_id="w", transient_retry=options)

    def copy(self, request_id="r-1"):
        return {"ReceiptHandle": "rh", "Body": "{}", "MessageAttributes": {
            "request_id": {"DataType": "String", "StringValue": request_id}, "dispatch_token": {"DataType": "String", "StringValue": "t"}}}

    def test_classification(self):
        from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

        for code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"):
            self.assertTrue(idw.is_transient_accept_error(failed(code)), code)
        server = ClientError({"Error": {"Code": "Whatever"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "UpdateItem")
        busy = ClientError({"Error": {"Code": "Whatever"}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "UpdateItem")
        self.assertTrue(idw.is_transient_accept_error(server))
        self.assertTrue(idw.is_transient_accept_error(busy))
        for error in (EndpointConnectionError(endpoint_url="http://x"), ConnectTimeoutError(endpoint_url="http://x"),
                      ReadTimeoutError(endpoint_url="http://x"), ConnectionClosedError(endpoint_url="http://x")):
            self.assertTrue(idw.is_transient_accept_error(error), type(error).__name__)
        bad = ClientError({"Error": {"Code": "ValidationException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "UpdateItem")
        for error in (bad, failed("ConditionalCheckFailedException"), failed("ResourceNotFoundException"),
                      idw.AlreadyCompleted({}), idw.InvalidRequestId("bad id", "with space"), idw.FenceError("refused"), TypeError("x"), ValueError("x"), None):
            self.assertFalse(idw.is_transient_accept_error(error), repr(error))

    def test_a_throttled_acceptance_is_retried_the_copy_kept_invisible_and_processed_once(self):
        dynamo, sqs, runs = self.Dynamo(3), self.Sqs(), []
        outcome = self.worker(dynamo, sqs).handle(self.copy(), "q", lambda message, job: runs.append(job.request_id) or "ok")
        self.assertEqual((outcome.status, outcome.completed), ("PROCESSED", True))
        self.assertEqual(runs, ["r-1"])
        accepts = 4  # 3 throttled, then accepted
        self.assertEqual(dynamo.writes - 1, accepts)  # and one completion
        self.assertEqual(sqs.calls[0], ("visibility", 60 + 30))  # the window (the lease) plus the margin, at the first failure
        self.assertNotIn(("visibility", 0), sqs.calls)
        self.assertEqual(sqs.calls[-1], ("delete",))
        # Capped exponential backoff, full jitter (0.5 of 0.1, 0.2, 0.4 s).
        self.assertEqual([round(s, 3) for s in self.sleeps], [0.05, 0.1, 0.2])

    def test_past_the_window_the_copy_is_handed_back_and_the_error_raised(self):
        dynamo, sqs, warnings = self.Dynamo(10**6), self.Sqs(), []
        worker = self.worker(dynamo, sqs, max_seconds=20)
        worker.warn = lambda text, **detail: warnings.append(detail["kind"])
        with self.assertRaises(ClientError):
            worker.handle(self.copy(), "q", lambda message, job: self.fail("not accepted: never processed"))
        self.assertGreater(dynamo.writes, 5)
        self.assertLessEqual(sum(self.sleeps), 20 + 1e-9)
        self.assertAlmostEqual(self.now[0] - 1000.0, 20)
        self.assertEqual(sqs.calls[0], ("visibility", 20 + 30))
        self.assertEqual(sqs.calls[-1], ("visibility", 0))
        self.assertTrue(all(c[0] == "visibility" for c in sqs.calls))
        self.assertIn("not-accepted", warnings)
        # No backoff above the cap (5 s; 0.5 of it with this draw).
        self.assertLessEqual(max(self.sleeps), 2.5)

    def test_errors_that_are_not_transient_are_not_retried(self):
        bad = ClientError({"Error": {"Code": "ValidationException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "UpdateItem")
        dynamo, sqs = self.Dynamo(1, bad), self.Sqs()
        with self.assertRaises(ClientError):
            self.worker(dynamo, sqs).handle(self.copy(), "q", lambda message, job: None)
        self.assertEqual((dynamo.writes, sqs.calls, self.sleeps), (1, [], []))

    def test_transient_retry_false_keeps_the_old_behaviour(self):
        dynamo, sqs = self.Dynamo(1), self.Sqs()
        with self.assertRaises(ClientError):
            self.worker(dynamo, sqs, transient_retry=False).handle(self.copy(), "q", lambda message, job: None)
        self.assertEqual((dynamo.writes, sqs.calls, self.sleeps), (1, [], []))


class DocumentedExamples(unittest.TestCase):
    """The Python blocks of the docs that use the package compile, and import only names it exports."""

    def test_every_python_block_compiles_and_imports_what_the_package_has(self):
        import ast
        import re

        seen = 0
        for path in (ROOT / "python" / "README.md", ROOT / "docs" / "worker-fence.md"):
            for block in re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
                tree = ast.parse(block, filename=str(path))
                for node in ast.walk(tree):
                    if isinstance(node, ast.ImportFrom) and node.module == "inference_dispatch_worker":
                        for alias in node.names:
                            if alias.name != "*":
                                self.assertTrue(hasattr(idw, alias.name), f"{path.name}: {alias.name}")
                        seen += 1
        self.assertGreaterEqual(seen, 4)


if __name__ == "__main__":
    unittest.main(verbosity=2)
