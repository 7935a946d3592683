"""Which request a copy is, and which copy (worker/identity.ts, worker/smoke.ts): the message attributes
request_id and dispatch_token of a boto3 message (receive with MessageAttributeNames=['All']) or a Lambda
SQS record. Without them: the body's request_id and the SQS message id as token, said in `fallbacks`."""
import json
from dataclasses import dataclass, field

from .errors import NoDispatchIdentity
from .record import DISPATCH_TOKEN_ATTRIBUTE, REQUEST_ID_ATTRIBUTE, SMOKE_ATTRIBUTE, check_request_id, smoke_run_of


def _is_lambda(message):
    return "messageId" in message or "messageAttributes" in message


def _attribute(message, name):
    if _is_lambda(message):
        value = (message.get("messageAttributes") or {}).get(name, {}).get("stringValue")
    else:
        value = (message.get("MessageAttributes") or {}).get(name, {}).get("StringValue")
    return value or None


@dataclass(frozen=True)
class DispatchIdentity:
    request_id: str
    token: str
    fallbacks: tuple = field(default=())


def dispatch_identity(message):
    """Raises NoDispatchIdentity when no request_id can be found, InvalidRequestId (a NoDispatchIdentity)
    when the one found is one the intake would refuse."""
    lambda_record = _is_lambda(message)
    message_id = message.get("messageId" if lambda_record else "MessageId")
    fallbacks = []
    request_id = _attribute(message, REQUEST_ID_ATTRIBUTE)
    if request_id is None:
        try:
            body = json.loads(message.get("body" if lambda_record else "Body") or "")
            request_id = body.get("request_id") if isinstance(body, dict) else None
        except ValueError:
            request_id = None
        if not isinstance(request_id, str) or not request_id:
            raise NoDispatchIdentity(f"message {message_id or '(no id)'}: no {REQUEST_ID_ATTRIBUTE} message attribute and no request_id in the body")
        fallbacks.append(f"no {REQUEST_ID_ATTRIBUTE} message attribute: request_id read from the body")
    check_request_id(request_id)
    token = _attribute(message, DISPATCH_TOKEN_ATTRIBUTE)
    if token is None:
        if not message_id:
            raise NoDispatchIdentity(f"request {request_id}: no {DISPATCH_TOKEN_ATTRIBUTE} message attribute and no message id")
        token = message_id
        fallbacks.append(f"no {DISPATCH_TOKEN_ATTRIBUTE} message attribute: the SQS message id is the token")
    return DispatchIdentity(request_id, token, tuple(fallbacks))


def smoke_run_of_copy(message):
    """The smoke run a copy is marked with (a valid run id in dispatch_smoke), or None for an ordinary copy."""
    return smoke_run_of(_attribute(message, SMOKE_ATTRIBUTE))
