"""The package's own rules, without the local stack: the boto3 check made on import, the request_id
rule, identities and smoke copies read from messages, the pyproject's metadata. Run by
test/worker/python-package.test.ts."""
import pathlib
import sys
import unittest

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
