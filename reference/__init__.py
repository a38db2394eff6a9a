"""The reference side of exovoice: a client SDK whose behaviour is the spec's statecharts, and
the world it runs in. It builds on `exovoice.spec`, never the reverse.

Its rooms, from the bottom up (docs/architecture.md draws them with their one-way arrows):

- `wire`: what both ends of the wire share: the access-token format, the HTTP helpers
- `procs`: the JSON-lines child-process plumbing every multi-process part uses
- `sip`: real SIP/RTP over pjsua2 (optional: importing it never fails without pjsua2)
- `net`: the networks the SDK runs on: the seam, the simulated network and platform, real SIP
- `sdk`: the reference SDK: the guide's API, its core asking the spec at every step
- `app`: the sample app around the SDK: its CallKit layer and the phone process
- `platform`: the Exotel platform simulator (Subscriber API, tokens, Dial Whom, push, SIP)
- `backend`: the sample customer backend (guide 5.1) and the push channel
- `targets`: the conformance targets `exovoice conform` drives (in-process, JSON lines, SIP)
- `demo`: `exovoice demo`, one real call between two phones, shown live

The guide's API is `exovoice.reference.sdk` (ExotelVoiceClient, Call, the listeners).
"""
