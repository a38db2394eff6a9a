"""Steps of call feedback: postFeedback with a rating and an issue (guide 4.11)."""

from __future__ import annotations

from pytest_bdd import when

from ...vocabulary import Api, CallIssue
from ..adapter import Capability as Cap
from ..context import ScenarioContext
from .common import P


@when(P("the app posts feedback with rating {rating:Int} and issue {issue:Issue}"))
def _w_feedback(conform: ScenarioContext, rating: int, issue: str) -> None:
    conform.need(Cap.FEEDBACK)
    conform.api(Api.postFeedback, call=conform.call, args={"rating": rating, "issue": issue})


@when(P("the app posts feedback with rating {rating:Int}"))
def _w_feedback_rating(conform: ScenarioContext, rating: int) -> None:
    conform.need(Cap.FEEDBACK)
    conform.api(Api.postFeedback, call=conform.call,
                args={"rating": rating, "issue": CallIssue.NO_ISSUE.value})
