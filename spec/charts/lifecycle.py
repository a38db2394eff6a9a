"""The client lifecycle chart: guide 4.2 (initialize), 6 (authentication), 4.10 (log upload),
and FACTS.md (reset, stop, onDeinitialized)."""

from __future__ import annotations

from typing import Any

from statemachine import State

from .. import rules as R
from ..arguments import subscriber_name_problem
from ..base import tag
from ..vocabulary import ErrorType, LogLevel, Network
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
    onAlreadyInitialized = tag(  # the shipping SDKs' answer to initialize() when registered
        initializing.to(initialized, cond="subscriber_valid"), R.VOCAB_SHIPPING,
        note="as onInitializationSuccess",
    )
    onAlreadyIntialized = tag(  # sic: the iOS spelling
        initializing.to(initialized, cond="subscriber_valid"), R.VOCAB_SHIPPING,
        note="as onInitializationSuccess",
    )
    onInitializationDelay = tag(
        initializing.to.itself(), R.LC_INIT_DELAY, cause="initialization slower than 5 s",
    )
    onInitializationFailure = tag(
        initializing.to(init_failed), R.LC_INIT_FAIL, causes={Network.net_init_failed: {"error": "INTERNAL_ERROR"}},
    )
    onAuthenticationFailure = tag(
        edges([initializing, initialized], init_failed, cond="auth_error_ok", on="note_auth_failed"),
        R.LC_AUTH_FAIL,
        causes={Network.net_token_rejected: {"error": "AUTHENTICATION_EXPIRED_TOKEN"}},
        note="AUTHENTICATION_INVALID_TOKEN | _EXPIRED_TOKEN",
    )
    onAuthenticationFailure |= tag(
        init_failed.to.itself(cond=["auth_failed_before", "auth_error_ok"]), R.LC_AUTH_CALL,
        causes={Network.net_token_rejected: {"error": "AUTHENTICATION_EXPIRED_TOKEN"}},
        note="again, on a call attempt before re-initializing",
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
    """LOG-UPLOAD: each accepted upload owes one answer; several may be in flight (the count
    is the model variable `uploads`)."""

    logs_idle = State("no upload", initial=True)
    logs_uploading = State("uploading")

    uploadLogs = tag(edges([logs_idle, logs_uploading], logs_uploading, cond="accepted",
                           on="upload_started"), R.LOG_UPLOAD, guard="accepted")
    onUploadLogSuccess = tag(logs_uploading.to(logs_idle, cond="last_upload", on="upload_answered"),
                             R.LOG_UPLOAD, causes={Network.net_upload_done: {}})
    onUploadLogSuccess |= tag(logs_uploading.to.itself(cond="more_uploads", on="upload_answered"),
                              R.LOG_UPLOAD, causes={Network.net_upload_done: {}},
                              note="another upload still in flight")
    onUploadLogFailure = tag(logs_uploading.to(logs_idle, cond="last_upload", on="upload_answered"),
                             R.LOG_UPLOAD,
                             causes={Network.net_upload_failed: {"error": "UPLOAD_LOG_FAILURE"}})
    onUploadLogFailure |= tag(logs_uploading.to.itself(cond="more_uploads", on="upload_answered"),
                              R.LOG_UPLOAD,
                              causes={Network.net_upload_failed: {"error": "UPLOAD_LOG_FAILURE"}},
                              note="another upload still in flight")


class ListenerRegion(State.Compound, name="listener"):
    """Callbacks that report and change nothing (LISTENER-LOG, VOCAB-SHIPPING)."""

    listening = State("listening", initial=True)

    onLog = tag(listening.to.itself(cond="log_level_ok"), R.LISTENER_LOG,
                cause="the library logs")
    onDestroyMediaSession = tag(listening.to.itself(), R.VOCAB_SHIPPING,
                                cause="media session torn down")


class LifecycleGuards:
    v: Any

    def subscriber_valid(self) -> bool:
        name = self.v.subscriber
        problem = subscriber_name_problem(name) if name is not None else None
        return self.deny_unless(problem is None, R.ARG_SUBSCRIBER, problem or "")

    def auth_error_ok(self, params: dict | None = None, **_: Any) -> bool:
        err = (params or {}).get("error")
        return self.deny_unless(isinstance(err, str) and err in AUTH_ERRORS, R.LC_AUTH_FAIL,
                                f"error {err} is not one of {', '.join(sorted(AUTH_ERRORS))}")

    def auth_failed_before(self) -> bool:
        return self.deny_unless(self.v.auth_failed, R.LC_AUTH_FAIL,
                                "the initialization failed without an authentication failure")

    def note_auth_failed(self, **_: Any) -> None:
        self.v.auth_failed = True

    def log_level_ok(self, params: dict | None = None, **_: Any) -> bool:
        level = (params or {}).get("level")
        return self.deny_unless(level is None or (isinstance(level, str) and level in LogLevel.names()),
                                R.LISTENER_LOG,
                                f"onLog level {level!r} is not a LogLevel")

    def last_upload(self) -> bool:
        return self.v.uploads <= 1

    def more_uploads(self) -> bool:
        return self.v.uploads > 1

    def upload_started(self, **_: Any) -> None:
        self.v.uploads += 1

    def upload_answered(self, **_: Any) -> None:
        self.v.uploads = max(0, self.v.uploads - 1)

    def deinit_due(self) -> bool:
        return self.deny_unless(self.v.deinit_due, R.LC_DEINIT, "no stop() or reset() to answer")

    def start_init(self, params: dict | None = None, **_: Any) -> None:
        name = (params or {}).get("subscriberName")
        self.v.subscriber = name
        self.v.deinit_due = False
        self.v.auth_failed = False

    def deinit(self, **_: Any) -> None:
        self.v.deinit_due = True

    def deinit_done(self, **_: Any) -> None:
        self.v.deinit_due = False

    def deny_unless(self, ok: bool, rule: R.Rule, detail: str) -> bool:
        raise NotImplementedError
