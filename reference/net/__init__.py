"""The networks the reference SDK runs on. `seam` is the one interface between the SDK and a
network (the SDK decides by asking the spec; the network carries the call and reports what
happens as the spec's Network happenings); `simnet` and `simplatform` are the simulated
network and platform the SDK uses by default; `sipnet` carries calls over real SIP/RTP
(exovoice.reference.sip). The seam knows nothing of the SDK: the SDK builds on the networks."""
