"""The sample app around the reference SDK, as an integrator writes it from the guide: its
CallKit ProviderDelegate and PushKit handler (`callkit`, guide 4.3.3) and the phone process
(`phone`: one pjsua2 SDK instance with its app, driven over JSON lines, used by the demo, the
SIP benchmark and the push path of the SIP conformance target)."""
