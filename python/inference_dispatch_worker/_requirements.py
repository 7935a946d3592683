"""The boto3 this package needs, checked when it is imported.

SQS speaks two protocols: the older query protocol (form-encoded `Action=ReceiveMessage`) and AWS
JSON 1.0. Real SQS accepts both; the local stack's SQS (fauxqs) only JSON, and refuses the query
protocol with "Unknown action: ReceiveMessage". botocore's SQS model moved to JSON for good in
botocore 1.34.90 (boto3 1.34.90 requires it), on 2024-04-23; it had been JSON briefly before (1.29.127,
and 1.31.81 to 1.32.5) and was reverted twice. Debian's python3-boto3 (1.26) still speaks query.
"""
import re

MIN_BOTO3 = (1, 34, 90)
MIN_BOTOCORE = (1, 34, 90)


def _parse(version):
    """(major, minor, patch) from a version string such as '1.34.90' or '1.35.0rc1'."""
    numbers = [int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3]]
    return tuple(numbers + [0] * (3 - len(numbers)))


def _text(version):
    return ".".join(str(n) for n in version)


def check_versions(boto3_version, botocore_version):
    """Raises ImportError naming the installed and the required versions when either is too old."""
    problems = []
    if _parse(boto3_version) < MIN_BOTO3:
        problems.append(f"boto3 {boto3_version} is installed")
    if _parse(botocore_version) < MIN_BOTOCORE:
        problems.append(f"botocore {botocore_version} is installed")
    if problems:
        raise ImportError(
            "inference_dispatch_worker needs boto3 >= "
            f"{_text(MIN_BOTO3)} and botocore >= {_text(MIN_BOTOCORE)} (the first releases that speak SQS's "
            f"JSON protocol; older ones speak the query protocol, which the local stack's SQS refuses with "
            f"'Unknown action: ReceiveMessage'), but {' and '.join(problems)}. "
            f"Upgrade: pip install 'boto3>={_text(MIN_BOTO3)}'"
        )


def check_installed():
    import boto3
    import botocore

    check_versions(boto3.__version__, botocore.__version__)
