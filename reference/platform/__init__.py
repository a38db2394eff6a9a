"""The Exotel platform simulator: its HTTP side (Subscriber Management API, token signing and
verification, the outbound Dial Whom and push calls, call detail records) and its SIP side
(`sip`: the exophone that bridges a caller to the callee it pushed; `sipserver`: both in one
process driven over JSON lines).

See `server` for the URLs and decisions; `exovoice.reference.backend` is the sample customer backend
the platform calls.
"""

from .accounts import (
                       ACCESS_TOKEN_TTL,
                       IST,
                       PUSH_PAYLOAD_TTL,
                       REFRESH_TOKEN_TTL,
                       Account,
                       ManualClock,
)
from .cdr import CallDetailRecord, CdrStore, new_call_sid
from .client import SubscriberApi
from .outbound import (
                       DialWhomFailure,
                       DialWhomResponse,
                       DialWhomResult,
                       PushOutcome,
                       dial_whom,
                       dial_whom_query,
                       parse_dial_whom,
                       push,
)
from .server import PAYLOAD_VERSION, ExotelPlatform
from .subscribers import ApiError, Subscriber, SubscriberStore

__all__ = ["ACCESS_TOKEN_TTL", "Account", "ApiError", "CallDetailRecord", "CdrStore",
           "DialWhomFailure", "DialWhomResponse", "DialWhomResult", "ExotelPlatform", "IST",
           "ManualClock", "PAYLOAD_VERSION", "PUSH_PAYLOAD_TTL", "PushOutcome",
           "REFRESH_TOKEN_TTL", "Subscriber", "SubscriberApi", "SubscriberStore", "dial_whom",
           "dial_whom_query", "new_call_sid", "parse_dial_whom", "push"]
