"""Child processes that speak JSON lines: the child side (`process`: a private stdout for
replies, signals that stop it) and the driver side (`child.Child`: start, post, wait for an
event, close in order). The phone, the SIP peer, the platform process, the demo and the SIP
conformance target all use it; it imports no other room."""
