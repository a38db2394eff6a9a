"""exovoice's formal specification of the Exotel Voice client SDK's call flow."""

__version__ = "0.1.0"
