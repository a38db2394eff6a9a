"""The reference SDK over real SIP/RTP: an ExotelVoiceClient whose network is a SipNet
(exovoice.reference.net.sipnet, where what is real and what is simulated is written down)."""

from __future__ import annotations

from typing import Any

from ..net.simplatform import Platform
from ..net.sipnet import SipNet
from .client import ExotelVoiceClient


class SipVoiceClient(ExotelVoiceClient):
    """ExotelVoiceClient whose calls go over SIP (see the module docstring): outgoing ones
    always, incoming ones when the SipNet has a `sessions_url`. `sipnet` is a SipNet or a
    target SIP URI; the client starts it and close() stops it."""

    def __init__(self, sipnet: "SipNet | str", *, callkit: bool = False,
                 platform: Platform | None = None, trace: Any = None,
                 settle_timeout: float = 5.0) -> None:
        net = SipNet(sipnet) if isinstance(sipnet, str) else sipnet
        super().__init__(callkit=callkit, platform=platform, trace=trace,
                         settle_timeout=settle_timeout, network=net)
        self.sipnet = net


__all__ = ["SipVoiceClient"]
