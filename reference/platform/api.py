"""The platform's HTTP API as a FastAPI app (see `server` for the resources and decisions).

Routing (404), methods (405 with Allow) and body shapes are FastAPI's and pydantic's; what the
guide adds is here: the check order account -> basic auth -> VoIP -> body, 400 (not FastAPI's
422) for a body or parameter that does not fit, and every answer in the API's envelope
(`request_id`, `method`, `http_code`, `status`, and `message` + `error_data` on failure). The
OpenAPI document FastAPI writes from these routes names every status each one answers.
"""

# No `from __future__ import annotations`: FastAPI reads these signatures at run time, and
# the dependency aliases below are local to platform_app.
import asyncio
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..wire.http import SERVICE_KEY, credentials_match, one_line, parse_basic_auth
from .subscribers import (
    DEFAULT_PAGE_SIZE,
    MAX_BATCH,
    MAX_PAGE_SIZE,
    STATUSES,
    ApiError,
    TokenRefused,
)

PREFIX = "/v2/accounts/{account_sid}"


# --- payload models (requests validated by them; answers documented by them) -------------------
class SubscriberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subscriber_name: str = Field(description="alphanumeric, fewer than 16 characters")
    display_name: str | None = None
    custom_field: str | None = None


class SubscriberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["active", "inactive"] | None = None
    custom_field: str | None = None
    display_name: str | None = None


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Literal["android", "ios"]
    device_id: str = Field(min_length=1)
    subscriber_name: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str
    device_id: str = Field(min_length=1)


class RegistrationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subscriber_name: str
    device_id: str = Field(min_length=1)


class TakeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    contact: str = Field(pattern=r"^sip:", description="the SIP URI the platform INVITEs")


class ErrorData(BaseModel):
    code: int
    message: str
    error_type: str | None = Field(None, description="the guide's ErrorType, for a refused token")


class Envelope(BaseModel):
    request_id: str
    method: str
    http_code: int
    status: Literal["success", "failure"]


class Failure(Envelope):
    message: str
    error_data: ErrorData


class Subscriber(BaseModel):
    subscriber_name: str
    display_name: str
    custom_field: str | None
    status: Literal["active", "inactive"]
    account_sid: str
    date_created: str
    date_updated: str


class ItemResult(BaseModel):
    code: int = Field(description="201 created, 400 malformed, 409 already exists")
    status: Literal["success", "failure"]
    subscriber: Subscriber | None
    subscriber_name: str | None = None
    error_data: ErrorData | None


class MultiStatus(Envelope):
    response: list[ItemResult]


class SubscriberAnswer(Envelope):
    subscriber: Subscriber


class PageMeta(BaseModel):
    total: int
    offset: int
    page_size: int
    count: int
    next_offset: int | None


class SubscriberPage(Envelope):
    metadata: PageMeta
    subscribers: list[Subscriber]


class SubscriberToken(BaseModel):
    refresh_token: str
    access_token: str


class TokenAnswer(Envelope):
    subscriber_token: SubscriberToken


class Registration(Envelope):
    subscriber_name: str
    device_id: str
    expires_at: float


class CallsAnswer(Envelope):
    calls: list[dict[str, Any]]


class CallAnswer(Envelope):
    call: dict[str, Any]


class Taken(Envelope):
    session_id: str


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {400: "malformed request (guide 9.3 a)",
             401: "basic auth with the API key:token required (guide 9.3 a), or a token "
                  "refused: error_data.error_type names the ErrorType (guide 6, 9.3 b)",
             403: "VoIP calling not enabled on the account, or the subscriber inactive "
                  "(guide 9.3 a)",
             404: "unknown account, subscriber, call or session", 405: "method not allowed",
             409: "already taken", 503: "no SIP side to serve it"}
    return {c: {"model": Failure, "description": words[c]} for c in codes}


_CUSTOMER = (400, 401, 403, 404, 405)


# --- the app -----------------------------------------------------------------------------------
def _p(request: Request) -> Any:
    """The ExotelPlatform this request reached (ASGIService puts it in the scope; the app does
    not import the server module, which imports it when it starts)."""
    return request.scope[SERVICE_KEY]


def platform_app() -> FastAPI:
    """The app, built once per process and shared by every ExotelPlatform (each request
    carries its own platform in the scope): building it costs ~20 ms, serving it nothing."""
    app = FastAPI(title="Exotel platform simulator", version="2",
                  description="Subscriber Management API (guide 5.2.1, 9.3) and the device's "
                  "token, registration and session resources.",
                  docs_url=None, redoc_url=None)

    def envelope(request: Request, code: int, **body: Any) -> dict[str, Any]:
        return {"request_id": uuid.uuid4().hex, "method": request.method, "http_code": code,
                **body}

    def fail(request: Request, code: int, message: str, headers: dict[str, str] | None = None,
             error_type: str | None = None) -> JSONResponse:
        message = one_line(message)
        data: dict[str, Any] = {"code": code, "message": message}
        if error_type is not None:
            data["error_type"] = error_type
        return JSONResponse(envelope(request, code, status="failure", message=message,
                                     error_data=data), code, headers)

    def ok(request: Request, code: int, **body: Any) -> JSONResponse:
        return JSONResponse(envelope(request, code, status="success", **body), code)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError) -> JSONResponse:
        if e.status != 401:
            return fail(request, e.status, e.message)
        named = e.message.split(":", 1)[0]  # the SIP side names a refused token's ErrorType
        if named.startswith("AUTHENTICATION_"):
            return fail(request, 401, e.message, {"WWW-Authenticate": 'Bearer realm="exotel"'},
                        error_type=named)
        scheme = "Bearer" if "Bearer" in e.message else "Basic"
        return fail(request, 401, e.message, {"WWW-Authenticate": f'{scheme} realm="exotel"'})

    @app.exception_handler(TokenRefused)
    async def _refused(request: Request, e: TokenRefused) -> JSONResponse:
        name = e.error_type.value
        return fail(request, 401, f"{name}: {e}", {"WWW-Authenticate": 'Bearer realm="exotel"'},
                    error_type=name)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        if e.status_code == 404:
            return fail(request, 404, f"no such resource: {request.url.path}")
        if e.status_code == 405:
            return fail(request, 405, f"method {request.method} not allowed on "
                        f"{request.url.path}", dict(e.headers or {}))
        return fail(request, e.status_code, str(e.detail), dict(e.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        if first.get("type") == "json_invalid":
            return fail(request, 400, f"malformed JSON: {first.get('ctx', {}).get('error', '')}")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return fail(request, 400, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def _bug(request: Request, e: Exception) -> JSONResponse:
        return fail(request, 500, f"internal error: {type(e).__name__}: {e}")

    # --- who may ask ------------------------------------------------------------------------
    def account(request: Request, account_sid: str) -> str:
        _p(request).account(account_sid)  # 404
        return account_sid

    def customer(request: Request, account_sid: Annotated[str, Depends(account)]) -> str:
        a = _p(request).account(account_sid)
        given = parse_basic_auth(request.headers.get("authorization"))
        if not credentials_match(given, a.api_key, a.api_token):
            raise ApiError(401, "basic authentication with the account's API key:token is "
                                "required")
        if not a.voip_enabled:
            raise ApiError(403, f"VoIP calling is not enabled on account {a.sid}")
        return account_sid

    def bearer(request: Request, account_sid: Annotated[str, Depends(account)]) -> str:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "an access token is required (Authorization: Bearer <token>)")
        return token.strip()

    Customer = Annotated[str, Depends(customer)]
    Account = Annotated[str, Depends(account)]
    Bearer = Annotated[str, Depends(bearer)]

    async def json_body(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            raise ApiError(400, "a JSON body is required")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(400, f"malformed JSON: {e}") from None

    # --- the customer's resources -----------------------------------------------------------
    batch = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "array", "minItems": 1, "maxItems": MAX_BATCH,
        "items": {"$ref": "#/components/schemas/SubscriberIn"}}}}}}

    @app.post(PREFIX + "/subscribers", status_code=207, response_model=MultiStatus,
              responses=_errors(*_CUSTOMER), openapi_extra=batch,
              summary="create up to 10 subscribers; a result per item")
    async def create(request: Request, account_sid: Customer) -> JSONResponse:
        platform = _p(request)
        results = platform.subscribers(account_sid).create_many(await json_body(request))
        out = []
        for code, data in results:
            if code == 201:
                out.append({"code": 201, "status": "success", "subscriber": data,
                            "error_data": None})
            else:
                out.append({"code": code, "status": "failure", "subscriber": None,
                            "subscriber_name": data["subscriber_name"],
                            "error_data": {"code": code, "message": one_line(data["message"])}})
        return ok(request, 207, response=out)

    @app.get(PREFIX + "/subscribers", response_model=SubscriberPage,
             responses=_errors(*_CUSTOMER), summary="list subscribers, a page at a time")
    async def list_(request: Request, account_sid: Customer,
                    status: Literal["active", "inactive"] | None = None,
                    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
                    offset: Annotated[int, Query(ge=0)] = 0) -> JSONResponse:
        platform = _p(request)
        return ok(request, 200, **platform.subscribers(account_sid).list(status, page_size,
                                                                         offset))

    one = PREFIX + "/subscribers/{subscriber_name}"

    @app.get(one, response_model=SubscriberAnswer, responses=_errors(*_CUSTOMER))
    async def get(request: Request, account_sid: Customer, subscriber_name: str) -> JSONResponse:
        platform = _p(request)
        sub = platform.subscribers(account_sid).get(subscriber_name)
        return ok(request, 200, subscriber=sub.to_json(account_sid))

    @app.put(one, response_model=SubscriberAnswer, responses=_errors(*_CUSTOMER))
    async def update(request: Request, account_sid: Customer, subscriber_name: str,
                     changes: SubscriberUpdate) -> JSONResponse:
        platform = _p(request)
        store = platform.subscribers(account_sid)
        store.check_name(subscriber_name)
        given = changes.model_dump(exclude_unset=True)
        return ok(request, 200, subscriber=store.update(subscriber_name, given))

    @app.delete(one, status_code=204, responses=_errors(*_CUSTOMER))
    async def delete(request: Request, account_sid: Customer, subscriber_name: str) -> Response:
        platform = _p(request)
        platform.subscribers(account_sid).delete(subscriber_name)
        return Response(status_code=204)

    @app.post(PREFIX + "/subscriber-token", response_model=TokenAnswer,
              responses=_errors(*_CUSTOMER), summary="a subscriber's tokens for one device")
    async def token(request: Request, account_sid: Customer, body: TokenRequest
                    ) -> JSONResponse:
        platform = _p(request)
        platform.subscribers(account_sid).check_name(body.subscriber_name)
        issued = platform.issue_subscriber_token(account_sid, body.subscriber_name,
                                                 body.device_id, body.platform)
        return ok(request, 200, subscriber_token=issued)

    @app.get(PREFIX + "/calls", response_model=CallsAnswer, responses=_errors(*_CUSTOMER))
    async def calls(request: Request, account_sid: Customer) -> JSONResponse:
        platform = _p(request)
        return ok(request, 200, calls=[r.to_dict() for r in platform.cdrs.all(account_sid)])

    @app.get(PREFIX + "/calls/{call_sid}", response_model=CallAnswer,
             responses=_errors(*_CUSTOMER))
    async def call(request: Request, account_sid: Customer, call_sid: str) -> JSONResponse:
        platform = _p(request)
        record = platform.cdrs.get(call_sid)
        if record is None or record.account_sid != account_sid:
            raise ApiError(404, f"call {call_sid} not found")
        return ok(request, 200, call=record.to_dict())

    # --- the device's resources -------------------------------------------------------------
    @app.post(PREFIX + "/subscriber-token/refresh", response_model=TokenAnswer,
              responses=_errors(400, 401, 404, 405), summary="a new access token for a device")
    async def refresh(request: Request, account_sid: Account, body: RefreshRequest
                      ) -> JSONResponse:
        platform = _p(request)
        issued = platform.refresh_access_token(account_sid, body.refresh_token, body.device_id)
        return ok(request, 200, subscriber_token=issued)

    @app.post(PREFIX + "/registrations", response_model=Registration,
              responses=_errors(400, 401, 404, 405), summary="the SDK's initialize")
    async def register(request: Request, account_sid: Account, token: Bearer,
                       body: RegistrationRequest) -> JSONResponse:
        platform = _p(request)
        done = platform.register(account_sid, token, body.subscriber_name, body.device_id)
        return ok(request, 200, **done)

    @app.post(PREFIX + "/sessions/{session_id}/take", status_code=202, response_model=Taken,
              responses=_errors(400, 401, 404, 405, 409, 503),
              summary="the callee's SDK takes a pushed call")
    async def take(request: Request, account_sid: Account, token: Bearer, session_id: str,
                   body: TakeRequest) -> JSONResponse:
        platform = _p(request)
        taker = platform.session_taker
        if taker is None:
            raise ApiError(503, "no SIP side is serving sessions")
        # the SIP side answers once its controller acted: off the loop, on asyncio's default
        # executor, whose threads asyncio.run joins when the server stops
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, taker, session_id, token, body.contact)
        return ok(request, 202, session_id=session_id)

    original = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document, less the 422 it adds to every route: this API answers a body
        or parameter that does not fit with 400 (guide 9.3 a), as its handler above does."""
        if app.openapi_schema is None:
            doc = original()
            for path in doc.get("paths", {}).values():
                for op in path.values():
                    op.get("responses", {}).pop("422", None)
            schemas = doc.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


__all__ = ["STATUSES", "platform_app"]
