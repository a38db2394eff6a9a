"""The reference SDK: the guide's API (ExotelVoiceClient, CallController, Call, the listener
interfaces; guide 4.2 to 4.11) whose every decision is asked of the spec's composed statechart
by its core (`core.SpecCore`), written to a trace v1 as it goes. It runs over a network from
exovoice.reference.net: the simulated one by default, real SIP with `sip_client.SipVoiceClient`.

- `client`: ExotelVoiceClient, CallController; `call`: Call, CallDetails, CallStatistics
- `listeners`: ExotelVoiceClientEventListener, CallListener
- `core`: SpecCore, ExotelVoiceError; `dispatcher`: the SDK thread; `logstore`: local logs
"""

from .call import Call, CallDetails, CallStatistics
from .client import CallController, ExotelVoiceClient
from .core import ExotelVoiceError
from .listeners import CallListener, ExotelVoiceClientEventListener

__all__ = ["Call", "CallController", "CallDetails", "CallListener", "CallStatistics",
           "ExotelVoiceClient", "ExotelVoiceClientEventListener", "ExotelVoiceError"]
