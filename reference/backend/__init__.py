"""A sample customer backend (guide 5.1): the Dial Whom and push endpoints the platform calls,
and the local push channel standing in for APNs/FCM, with the app's relay decision."""

from .pushchannel import Device, PushChannel, app_should_relay, relay_data
from .server import CustomerBackend, DialWhomReply, RoutingTable

__all__ = ["CustomerBackend", "Device", "DialWhomReply", "PushChannel", "RoutingTable",
           "app_should_relay", "relay_data"]
