"""The conformance targets `exovoice conform` drives through the adapter protocol: the
reference SDK in-process (`adapter.ReferenceAdapter`, entry point `reference`), over JSON lines
(`jsonlines_server`: `python -m exovoice.reference.targets.jsonlines_server`), over real SIP/RTP
(`sip.ReferenceSipAdapter`, entry point `reference-sip`), and the adapter's `platform`
operation over the platform simulator and the sample backend (`platform_harness`)."""
