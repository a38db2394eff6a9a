"""Steps of audio routing: mute, speaker, Bluetooth and the route the app reads (guide 4.4)."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from ...vocabulary import Api, Env
from ..adapter import Capability as Cap
from ..context import ScenarioContext
from .common import AUDIO_PHRASES, P, alternatives, enum_value


@given("a Bluetooth device is connected")
def _bt_connected(conform: ScenarioContext) -> None:
    conform.need(Cap.BLUETOOTH)
    conform.stimulus(Env.bluetoothConnected)


def read_route(conform: ScenarioContext) -> Any:
    """getAudioRoute(), written to the trace as the observation it is (AUDIO-ROUTE), so the
    validator judges the route as well as the step."""
    res = conform.query(Api.getAudioRoute.value)
    route = enum_value(res.value)
    if res.ok and isinstance(route, str):
        conform.observe(lambda rec: rec.api(Api.getAudioRoute.value, call=conform.call,
                                            args={"route": route}))
    return res


@when("the app reads the audio route")
def _w_read_route(conform: ScenarioContext) -> None:
    conform.need(Cap.AUDIO)
    conform.values["route"] = read_route(conform)


@given("a wired headset is plugged in")
@when("a wired headset is plugged in")
def _wired_in(conform: ScenarioContext) -> None:
    conform.need(Cap.WIRED_HEADSET)
    conform.stimulus(Env.wiredHeadsetConnected)


@when("the wired headset is unplugged")
def _wired_out(conform: ScenarioContext) -> None:
    conform.need(Cap.WIRED_HEADSET)
    conform.stimulus(Env.wiredHeadsetDisconnected)


@when(parsers.re("the app (?P<phrase>" + alternatives(list(AUDIO_PHRASES)) + ")$"))
def _w_audio(conform: ScenarioContext, phrase: str) -> None:
    conform.need(Cap.AUDIO)
    op = AUDIO_PHRASES[phrase]
    if op == Api.enableBluetooth:
        conform.need(Cap.BLUETOOTH)
    conform.api(op, call=conform.call)


@when(P('the app sends the DTMF digit "{digit:Name}"'))
def _w_dtmf(conform: ScenarioContext, digit: str) -> None:
    """sendDtmf(digit) on the latest call (ARG-DTMF: one of 0-9, *, #)."""
    conform.api(Api.sendDtmf, call=conform.call, args={"digit": digit})


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
    conform.need(Cap.AUDIO)
    res = read_route(conform)
    assert res.ok, f"getAudioRoute() failed with {res.result}"
    assert enum_value(res.value) == route, f"the audio route is {res.value}, expected {route}"
