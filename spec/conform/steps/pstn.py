"""Steps of PSTN calls on the same phone: ringing, accepted, declined, placed, ended (guide 4.8, 4.9)."""

from __future__ import annotations

from pytest_bdd import given, parsers, when

from ...vocabulary import Env
from ..adapter import Capability as Cap
from ..context import ScenarioContext
from .common import PSTN_PHRASES, alternatives


@given("a PSTN call is in progress")
def _pstn_active(conform: ScenarioContext) -> None:
    conform.need(Cap.PSTN)
    conform.stimulus(Env.pstnRinging)
    conform.stimulus(Env.pstnAnswered)


@given("a PSTN call is ringing")
def _pstn_ringing(conform: ScenarioContext) -> None:
    conform.need(Cap.PSTN)
    conform.stimulus(Env.pstnRinging)


@when(parsers.re("(?P<phrase>" + alternatives(list(PSTN_PHRASES)) + ")$"))
def _w_pstn(conform: ScenarioContext, phrase: str) -> None:
    conform.need(Cap.PSTN)
    conform.stimulus(PSTN_PHRASES[phrase])
