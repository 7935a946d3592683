"""The worker side of the multi-region inference dispatcher on boto3: the dispatch fence (accept,
complete, release, the skew-safe take-over), its lease heartbeat, the lane receiver, keeping a copy while
its lease is watched, smoke copies, a worker loop, presence (a fleet that reports itself) and work
stealing. See README.md beside this package and
docs/worker-fence.md in the repository."""
from ._requirements import MIN_BOTO3, MIN_BOTOCORE, check_installed

check_installed()

from .errors import (  # noqa: E402
    AcceptRefused,
    AlreadyAccepted,
    AlreadyCompleted,
    DeadLettered,
    FenceError,
    InvalidRequestId,
    LeaseLost,
    NoDispatchIdentity,
    NotHolder,
)
from .fence import Fence, Lease  # noqa: E402
from .heartbeat import Heartbeat  # noqa: E402
from .identity import DispatchIdentity, dispatch_identity, smoke_run_of_copy  # noqa: E402
from .keep import KeptCopy, WatchedCopies  # noqa: E402
from .lanes import LANE_RECEIVE, STARVATION_LIMIT, LaneMessage, LaneReceiver, sqs_receive  # noqa: E402
from .presence import (  # noqa: E402
    PRESENCE,
    PresenceReporter,
    check_worker_id,
    count_presence,
    forgettable,
    leases_from_attributes,
    presence_attribute,
    presence_key,
)
from .record import check_request_id  # noqa: E402
from .stealing import (  # noqa: E402
    STEALING_DEFAULTS,
    StealCandidate,
    StealChoice,
    StealingReceiver,
    StealingSettings,
    StealingSettingsError,
    StealRegion,
    TakenMessage,
    choose_before_own_normal,
    choose_steal,
    parse_stealing_settings,
    serves_model,
)
from .transient import TransientRetry, is_transient_accept_error, retry_transient  # noqa: E402
from .worker import DROPPED, FAILED, IN_FLIGHT, INVALID, LEASE_LOST, PROCESSED, SMOKE, Job, Outcome, Worker, body_of, new_worker_id  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "MIN_BOTO3", "MIN_BOTOCORE", "AcceptRefused", "AlreadyAccepted", "AlreadyCompleted", "DeadLettered", "FenceError",
    "InvalidRequestId", "LeaseLost", "NoDispatchIdentity", "NotHolder", "Fence", "Lease", "Heartbeat", "DispatchIdentity",
    "dispatch_identity", "smoke_run_of_copy", "KeptCopy", "WatchedCopies", "LANE_RECEIVE", "STARVATION_LIMIT", "LaneMessage",
    "LaneReceiver", "sqs_receive", "check_request_id", "DROPPED", "FAILED", "IN_FLIGHT", "INVALID", "LEASE_LOST", "PROCESSED",
    "SMOKE", "Job", "Outcome", "Worker", "body_of", "new_worker_id", "PRESENCE", "PresenceReporter", "check_worker_id",
    "count_presence", "forgettable", "leases_from_attributes", "presence_attribute", "presence_key", "STEALING_DEFAULTS",
    "StealCandidate", "StealChoice", "StealingReceiver", "StealingSettings", "StealingSettingsError", "StealRegion",
    "TakenMessage", "choose_before_own_normal", "choose_steal", "parse_stealing_settings", "serves_model", "TransientRetry", "is_transient_accept_error",
    "retry_transient",
]
