"""The app factory: routes, middleware (security headers, signed session, login gate) and the error
mapping. `create_app` takes an open Ledger and leaves closing it to the caller."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from questlog.webapp import api, auth, conclusions, feeds, metrics, papers, questions, triage
from questlog.webapp.common import CsrfRefused, error_response
from shared.errors import NotFound, PermanentError
from shared.ledger import Ledger
from shared.settings import Settings

log = logging.getLogger("questlog.web")
MAX_BODY = 1024 * 1024  # a form or JSON body; a conclusion is at most 100,000 characters
SESSION_DAYS = 14
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """Adds HEADERS to every response (no inline script or style runs; nothing frames the app)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in HEADERS.items():
                    headers.setdefault(k, v)
                headers["Server"] = "questlog-web"
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _not_found(request: Request, exc: Exception):
    return error_response(request, 404, str(exc))


async def _refused(request: Request, exc: Exception):
    return error_response(request, 403, str(exc))


async def _bad(request: Request, exc: Exception):
    return error_response(request, 400, str(exc))


async def _http(request: Request, exc: Exception):
    assert isinstance(exc, HTTPException)
    message = f"no page at {request.url.path}" if exc.status_code == 404 else exc.detail
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette's Allow names one route's methods; a path may have several
        allowed = sorted({m for r in request.app.routes if isinstance(r, Route) and r.methods
                          and r.path_regex.match(request.url.path) for m in r.methods})
        headers["Allow"] = ", ".join(allowed)
        message = f"{request.method} is not allowed on {request.url.path}; it takes {headers['Allow']}"
    return error_response(request, exc.status_code, message, headers=headers)


async def _crash(request: Request, exc: Exception):
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "internal error; see the server log")


def create_app(settings: Settings, ledger: Ledger, password: str, login_pause_s: float = 1.0,
               https_only: bool = False) -> Starlette:
    """The web app over `ledger`. `password` is the one login accepts (see `auth`); a failed login
    is answered after `login_pause_s`; `https_only` marks the session cookie Secure."""
    static = StaticFiles(directory=Path(__file__).with_name("static"))
    app = Starlette(
        routes=[*auth.routes, *questions.routes, *triage.routes, *conclusions.routes, *feeds.routes, *papers.routes,
                *api.routes, *metrics.routes,
                Mount("/static", static, name="static")],
        middleware=[Middleware(SecurityHeaders),
                    Middleware(SessionMiddleware, secret_key=auth.session_key(password),
                               session_cookie="questlog_session", max_age=SESSION_DAYS * 86400, same_site="lax",
                               https_only=https_only),
                    Middleware(auth.AuthGate)],
        exception_handlers={NotFound: _not_found, CsrfRefused: _refused, PermanentError: _bad,
                            HTTPException: _http, Exception: _crash},
        max_body_size=MAX_BODY,
    )
    app.state.settings, app.state.ledger, app.state.password = settings, ledger, password
    app.state.login_pause_s, app.state.login_lock = login_pause_s, asyncio.Lock()
    return app
