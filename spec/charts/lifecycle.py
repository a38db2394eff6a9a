"""The client lifecycle chart: guide 4.2 (initialize), 6 (authentication), 4.10 (log upload),
and FACTS.md (reset, stop, onDeinitialized)."""

from __future__ import annotations

from typing import Any

from statemachine import State

from .. import rules as R
from ..arguments import subscriber_name_problem
from ..base import tag
from ..vocabulary import ErrorType, Network
from .call_state import edges

AUTH_ERRORS = frozenset({ErrorType.AUTHENTICATION_INVALID_TOKEN.value,
                         ErrorType.AUTHENTICATION_EXPIRED_TOKEN.value})


class LifecycleRegion(State.Compound, name="client lifecycle"):
    not_initialized = State("not initialized", initial=True)
    initializing = State("initializing")
    initialized = State("initialized")
    init_failed = State("failed")

    initialize = tag(
        edges([not_initialized, initializing, initialized], initializing,
              cond="accepted", on="start_init"),
        R.LC_INIT, guard="accepted",
    )
    initialize |= tag(
        init_failed.to(initializing, cond="accepted", on="start_init"), R.LC_REINIT,
        guard="new token",
    )
    onInitializationSuccess = tag(
        initializing.to(initialized, cond="subscriber_valid"), R.LC_INIT_OK,
        causes={Network.net_initialized: {}},
    )
    onInitializationFailure = tag(
        initializing.to(init_failed), R.LC_INIT_FAIL, causes={Network.net_init_failed: {"error": "INTERNAL_ERROR"}},
    )
    onAuthenticationFailure = tag(
        edges([initializing, initialized], init_failed, cond="auth_error_ok"), R.LC_AUTH_FAIL,
        causes={Network.net_token_rejected: {"error": "AUTHENTICATION_EXPIRED_TOKEN"}}, note="AUTHENTICATION_INVALID_TOKEN | _EXPIRED_TOKEN",
    )
    reset = tag(
        edges([not_initialized, initializing, initialized, init_failed], not_initialized,
              cond="accepted", on="deinit"),
        R.LC_RESET, guard="accepted",
    )
    stop = tag(
        edges([not_initialized, initializing, initialized, init_failed], not_initialized,
              cond="accepted", on="deinit"),
        R.LC_STOP, guard="no call",
    )
    onDeinitialized = tag(
        not_initialized.to.itself(cond="deinit_due", on="deinit_done"), R.LC_DEINIT,
        cause="SDK torn down",
    )


class LogsRegion(State.Compound, name="log upload"):
    logs_idle = State("no upload", initial=True)
    logs_uploading = State("uploading")

    uploadLogs = tag(logs_idle.to(logs_uploading, cond="accepted"), R.LOG_UPLOAD, guard="accepted")
    onUploadLogSuccess = tag(logs_uploading.to(logs_idle), R.LOG_UPLOAD,
                             causes={Network.net_upload_done: {}})
    onUploadLogFailure = tag(logs_uploading.to(logs_idle), R.LOG_UPLOAD,
                             causes={Network.net_upload_failed: {"error": "UPLOAD_LOG_FAILURE"}})


class LifecycleGuards:
    v: Any

    def subscriber_valid(self) -> bool:
        name = self.v.subscriber
        problem = subscriber_name_problem(name) if name is not None else None
        return self.deny_unless(problem is None, R.ARG_SUBSCRIBER, problem or "")

    def auth_error_ok(self, params: dict | None = None, **_: Any) -> bool:
        err = (params or {}).get("error")
        return self.deny_unless(err in AUTH_ERRORS, R.LC_AUTH_FAIL,
                                f"error {err} is not one of {', '.join(sorted(AUTH_ERRORS))}")

    def deinit_due(self) -> bool:
        return self.deny_unless(self.v.deinit_due, R.LC_DEINIT, "no stop() or reset() to answer")

    def start_init(self, params: dict | None = None, **_: Any) -> None:
        name = (params or {}).get("subscriberName")
        self.v.subscriber = name
        self.v.deinit_due = False

    def deinit(self, **_: Any) -> None:
        self.v.deinit_due = True

    def deinit_done(self, **_: Any) -> None:
        self.v.deinit_due = False

    def deny_unless(self, ok: bool, rule: R.Rule, detail: str) -> bool:
        raise NotImplementedError
