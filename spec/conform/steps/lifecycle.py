"""Steps of the client's lifecycle: initialize and its outcomes, tokens that expire or
are revoked, stop and reset, log upload (guide 4.2, 4.10, 6, 9.3)."""

from __future__ import annotations

import time

from pytest_bdd import given, then, when

from ...vocabulary import Api, ErrorType, Network
from ..adapter import Capability as Cap
from ..context import SETTLE, ScenarioContext
from .common import P, expect, initialize_client, initialized


@given("the client is not initialized")
def _not_initialized(conform: ScenarioContext) -> None:
    conform.client()


@given("the client is initialized")
def _initialized(conform: ScenarioContext) -> None:
    initialized(conform)


@given(P('the client is initialized as "{name:Name}"'))
def _initialized_as(conform: ScenarioContext, name: str) -> None:
    initialized(conform, name)


@when(P('the app initializes the client as "{name:Name}"'))
def _w_initialize(conform: ScenarioContext, name: str) -> None:
    initialize_client(conform, name)


@when("the app initializes the client again with a new token")
def _w_reinitialize(conform: ScenarioContext) -> None:
    initialize_client(conform, conform.subscriber)


@when("the subscriber's token expires")
def _w_token_expired(conform: ScenarioContext) -> None:
    conform.control("token_expired", Network.net_token_rejected,
                    {"error": ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value})


@when("the subscriber's token is revoked")
def _w_token_invalid(conform: ScenarioContext) -> None:
    conform.control("token_invalid", Network.net_token_rejected,
                    {"error": ErrorType.AUTHENTICATION_INVALID_TOKEN.value})


@given("the platform will fail the next registration")
def _g_init_fails(conform: ScenarioContext) -> None:
    conform.control("init_fails", Network.net_init_failed, None, after=Api.initialize)


@given("log uploads will fail")
@when("log uploads will fail")
def _g_upload_fails(conform: ScenarioContext) -> None:
    conform.need(Cap.LOGS)
    conform.control("upload_fails", Network.net_upload_failed, None, after=Api.uploadLogs)


@when("the app uploads its logs")
def _w_upload(conform: ScenarioContext) -> None:
    conform.need(Cap.LOGS)
    now = time.time()
    res = conform.api(Api.uploadLogs, args={"startDate": now - 3600, "endDate": now,
                                            "description": "call dropped"})
    conform.after_op(Api.uploadLogs, res)


@when("the app uploads its logs with a start after its end")
def _w_upload_backwards(conform: ScenarioContext) -> None:
    conform.need(Cap.LOGS)
    now = time.time()
    res = conform.api(Api.uploadLogs, args={"startDate": now, "endDate": now - 3600,
                                            "description": "backwards"})
    conform.after_op(Api.uploadLogs, res)


@given("the platform stops accepting the subscriber's token without telling the app")
def _g_token_silently_refused(conform: ScenarioContext) -> None:
    """The platform control token_expired_silently (LC-AUTH-CALL): no network happening
    stands in for it, so a client without the control does not run the scenario."""
    conform.control("token_expired_silently", None)


@then("each log upload is answered exactly once")
def _t_uploads_answered(conform: ScenarioContext) -> None:
    assert conform.recorder is not None
    accepted = sum(1 for ev in conform.recorder.lines if ev.get("kind") == "api"
                   and ev.get("name") == Api.uploadLogs.value and ev.get("result", "ok") == "ok")
    for _ in range(accepted):
        expect(conform, ("onUploadLogSuccess", "onUploadLogFailure"))
    conform.settle(SETTLE)
    n = len(conform.since_mark("onUploadLogSuccess")) + len(conform.since_mark("onUploadLogFailure"))
    assert n == accepted, f"{accepted} accepted uploadLogs() were answered {n} times"


@when("the app stops the client")
def _w_stop(conform: ScenarioContext) -> None:
    conform.api(Api.stop)


@when("the app resets the client")
def _w_reset(conform: ScenarioContext) -> None:
    conform.api(Api.reset)


@then("the initialization is refused or fails")
def _t_init_refused(conform: ScenarioContext) -> None:
    last = conform.last
    assert last is not None
    if last.ok:
        # accepted: the platform refuses the malformed name (guide 9.3 a: 400)
        if Cap.NETWORK in conform.caps:
            conform.stimulus(Network.net_init_failed)
        expect(conform, "onInitializationFailure",
               what="initialize() refused or onInitializationFailure")
    assert not conform.since_mark("onInitializationSuccess"), \
        "the client reported onInitializationSuccess for an invalid subscriber name"


@then("the log upload is answered exactly once")
def _t_upload_once(conform: ScenarioContext) -> None:
    expect(conform, ("onUploadLogSuccess", "onUploadLogFailure"))
    conform.settle(SETTLE)
    n = len(conform.since_mark("onUploadLogSuccess")) + len(conform.since_mark("onUploadLogFailure"))
    assert n == 1, f"uploadLogs() was answered {n} times"
