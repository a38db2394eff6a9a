"""The sample backend's two endpoints as a FastAPI app (see `server` for what they answer):
the rest of the URL space is 404, a wrong method 405 with Allow, and every answer is JSON."""

# No `from __future__ import annotations`: FastAPI reads the handlers' signatures at run time.
import urllib.parse
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..wire.http import SERVICE_KEY, one_line, parse_basic_auth


def _b(request: Request) -> Any:
    """The CustomerBackend this request reached (in the scope; not imported here: the server
    module imports this one when it starts)."""
    return request.scope[SERVICE_KEY]


def _error(code: int, message: str) -> dict[str, Any]:
    return {"http_code": code, "status": "failure", "message": one_line(message)}


def backend_app() -> Any:
    """The two endpoints as a FastAPI app, shared by every CustomerBackend of the process
    (each request carries its backend in the scope; the paths carry the account name)."""
    app = FastAPI(title="sample customer backend", docs_url=None, redoc_url=None,
                  openapi_url=None)

    def answer(status: int, body: Any) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="backend"'} if status == 401 else None
        return JSONResponse(body, status, headers)

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        _b(request).record(request.method, request.url.path, dict(request.headers))
        return await call_next(request)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, e: HTTPException) -> JSONResponse:
        if e.status_code == 405:
            return JSONResponse(_error(405, f"method {request.method} not allowed"), 405,
                                dict(e.headers or {}))
        return JSONResponse(_error(e.status_code, f"no such resource: {request.url.path}"),
                            e.status_code)

    @app.exception_handler(Exception)
    async def _bug(request: Request, e: Exception) -> JSONResponse:
        return JSONResponse(_error(500, f"internal error: {type(e).__name__}: {e}"), 500)

    @app.get("/v1/accounts/{account}/dialtonumber")
    async def dial_whom(request: Request, account: str) -> JSONResponse:
        b = _b(request)
        if account != b.account:
            return answer(404, _error(404, f"no such resource: {request.url.path}"))
        params = urllib.parse.parse_qs(request.url.query, keep_blank_values=True)
        return answer(*b.answer_dial_whom(params))

    @app.post("/v1/accounts/{account}/pushtoclient")
    async def push(request: Request, account: str) -> JSONResponse:
        b = _b(request)
        if account != b.account:
            return answer(404, _error(404, f"no such resource: {request.url.path}"))
        auth = parse_basic_auth(request.headers.get("authorization"))
        return answer(*b.answer_push(auth, await request.body()))

    return app
