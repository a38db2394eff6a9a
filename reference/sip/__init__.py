"""Real SIP/RTP for the reference client, over pjsua2 (PyPI wheel ``pjsua2-python``).

* exovoice.reference.sip.mapping  - pure: invite states / status codes -> spec Network happenings
* exovoice.reference.sip.stats    - CallStatistics from pjsua2 stream stats; RtpWatch (pure)
* exovoice.reference.sip.endpoint - SipEndpoint: one pjsua2 Endpoint per process, one pump thread
* exovoice.reference.sip.call     - SipCall: answer/hangup/hold/pause_rtp/stats for one call
* exovoice.reference.sip.peer     - ``python -m exovoice.reference.sip.peer``: a scripted far end (JSON lines)

Importing this package never fails when pjsua2 is missing; check ``HAVE_PJSUA2``.
"""

from .endpoint import HAVE_PJSUA2, IMPORT_ERROR, SipEndpoint, SipError, SipEvent
from .mapping import InviteUpdate, network_event
from .stats import CallStatistics, RtpWatch

__all__ = [
    "HAVE_PJSUA2",
    "IMPORT_ERROR",
    "CallStatistics",
    "InviteUpdate",
    "RtpWatch",
    "SipEndpoint",
    "SipError",
    "SipEvent",
    "network_event",
]
