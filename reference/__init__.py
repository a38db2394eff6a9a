"""The reference client: the guide's API whose behaviour is the spec's statecharts.

It depends on `spec`, never the reverse.

- `client`: ExotelVoiceClient, CallController (guide 4.2, 4.3, 4.10)
- `call`: Call, CallDetails, CallStatistics (4.3 to 4.6, 4.11)
- `listeners`: ExotelVoiceClientEventListener, CallListener
- `core`: SpecCore (where every decision is asked of spec.charts.model.ClientModel),
  ExotelVoiceError
- `simnet`: the simulated platform and network (tokens, pushes, automatic happenings)
- `tokens`: JWT-shaped HS256 tokens; `logstore`: local log storage; `dispatcher`: the SDK thread
- `callkit_app`: the sample app's CallKit ProviderDelegate and PushKit handler
- `adapter`: ReferenceAdapter (spec.conform.adapter.ClientAdapter);
  `jsonlines_server`: the same over the JSON-lines protocol; `platform_harness`: the
  adapter's `platform` operation over `platform` (HTTP simulator) and `backend`
"""

from .call import Call, CallDetails, CallStatistics
from .client import CallController, ExotelVoiceClient
from .core import ExotelVoiceError
from .listeners import CallListener, ExotelVoiceClientEventListener
from .simnet import Platform

__all__ = ["Call", "CallController", "CallDetails", "CallListener", "CallStatistics",
           "ExotelVoiceClient", "ExotelVoiceClientEventListener", "ExotelVoiceError", "Platform"]
