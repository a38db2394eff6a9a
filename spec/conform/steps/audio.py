"""Steps of audio routing: mute, speaker, Bluetooth and the route the app reads (guide 4.4)."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from ...vocabulary import Api, Env
from ..adapter import Capability as Cap
from ..context import ScenarioContext
from .common import AUDIO_PHRASES, P, alternatives, enum_value


@given("a Bluetooth device is connected")
def _bt_connected(conform: ScenarioContext) -> None:
    conform.need(Cap.BLUETOOTH)
    conform.stimulus(Env.bluetoothConnected)


@when("the app reads the audio route")
def _w_read_route(conform: ScenarioContext) -> None:
    conform.need(Cap.AUDIO)
    conform.values["route"] = conform.api("getAudioRoute", call=conform.call, record=False)


@when(parsers.re("the app (?P<phrase>" + alternatives(list(AUDIO_PHRASES)) + ")$"))
def _w_audio(conform: ScenarioContext, phrase: str) -> None:
    conform.need(Cap.AUDIO)
    op = AUDIO_PHRASES[phrase]
    if op == Api.enableBluetooth:
        conform.need(Cap.BLUETOOTH)
    conform.api(op, call=conform.call)


@when("a Bluetooth device connects")
def _w_bt_on(conform: ScenarioContext) -> None:
    conform.need(Cap.BLUETOOTH)
    conform.stimulus(Env.bluetoothConnected)


@when("the Bluetooth device disconnects")
def _w_bt_off(conform: ScenarioContext) -> None:
    conform.need(Cap.BLUETOOTH)
    conform.stimulus(Env.bluetoothDisconnected)


@then(P("the audio route is {route:Route}"))
def _t_route(conform: ScenarioContext, route: str) -> None:
    res = conform.api("getAudioRoute", call=conform.call, record=False)
    assert res.ok, f"getAudioRoute() failed with {res.result}"
    assert enum_value(res.value) == route, f"the audio route is {res.value}, expected {route}"
