"""The request's idempotency record as the fence reads and writes it (core/record.ts, worker/record.ts),
and the intake's rule for a request_id (core/request.ts)."""
import re

from .errors import InvalidRequestId

# Message attributes the dispatcher puts on every forwarded copy (core/record.ts MESSAGE_ATTRIBUTE).
REQUEST_ID_ATTRIBUTE = "request_id"
DISPATCH_TOKEN_ATTRIBUTE = "dispatch_token"
# A smoke request's copy (core/smoke.ts): left to the smoke command.
SMOKE_ATTRIBUTE = "dispatch_smoke"

# The record's status (written by the dispatch workflow) and workStatus (written by the fence).
DEAD_LETTERED = "DEAD_LETTERED"
ACCEPTED = "ACCEPTED"
COMPLETED = "COMPLETED"

# The record outlives every copy: 21 days after the last acceptance (core/topology.ts).
RECORD_TTL_SECONDS = 21 * 24 * 3600

# The intake's rule (core/request.ts): letters, digits and . _ : -, 1 to 128 characters. Anything else could
# name an item that is not a request (#capacity#..., #health#..., #intake-dlq#...).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# A smoke run id (core/smoke.ts): the same characters, at most 64.
_SMOKE_RUN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def check_request_id(request_id):
    """Raises InvalidRequestId for an id the intake would refuse: nothing is read or written for it."""
    if not isinstance(request_id, str) or not request_id:
        raise InvalidRequestId(request_id, "request_id must not be empty")
    if len(request_id) > 128:
        raise InvalidRequestId(request_id, "request_id must be at most 128 characters")
    if not _REQUEST_ID.fullmatch(request_id):
        raise InvalidRequestId(request_id, "request_id may hold only letters, digits and . _ : -")


def smoke_run_of(value):
    """The smoke run id in a dispatch_smoke attribute value, or None (absent, or not a valid run id)."""
    return value if isinstance(value, str) and _SMOKE_RUN.fullmatch(value) else None


def parse_item(item):
    """DynamoDB's typed item ({'S': ...}, {'N': ...}) as a plain dict: strings, ints (or floats), lists."""
    return {name: _value(value) for name, value in item.items()}


def _value(typed):
    if "S" in typed:
        return typed["S"]
    if "N" in typed:
        number = typed["N"]
        return int(number) if re.fullmatch(r"-?\d+", number) else float(number)
    if "BOOL" in typed:
        return typed["BOOL"]
    if "NULL" in typed:
        return None
    if "L" in typed:
        return [_value(v) for v in typed["L"]]
    if "M" in typed:
        return parse_item(typed["M"])
    if "SS" in typed:
        return set(typed["SS"])
    return typed
