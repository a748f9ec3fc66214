"""Logging in: one user, one password kept in `<data_dir>/web.secret`.

The password is generated once (`secrets.token_urlsafe`, the file made with mode 0600) on the first
start, and printed then. A login gives a signed session cookie (HttpOnly, SameSite=Lax) and a new
CSRF token. A wrong password is a 401 after a pause; failed logins are answered one at a time, so
guessing is slow. Every page but the login page, /healthz, /static/ and the question feeds (which
take their own token, see `feeds`) needs the session: a page
asked for without one redirects to the login page, an API call is a 401.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from questlog.webapp.common import check_csrf, csrf_token, local_path, page
from shared.errors import PermanentError

SECRET_FILE = "web.secret"
PUBLIC = ("/login", "/healthz", "/static/")
USER = "you"


def password_file(data_dir: Path) -> Path:
    return data_dir / SECRET_FILE


def load_or_create_password(data_dir: Path) -> tuple[str, bool]:
    """(the password, whether it was generated just now). The file is created readable by its owner
    only, never rewritten. Raises PermanentError for an empty file."""
    path = password_file(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        password = path.read_text().strip()
        if not password:
            raise PermanentError(f"{path} is empty; delete it and a new password is generated on the next start")
        return password, False
    password = secrets.token_urlsafe(18)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return password, True


def session_key(password: str) -> str:
    """The cookie-signing key, derived from the password: a new password ends every session."""
    return hmac.new(password.encode(), b"questlog web session v1", hashlib.sha256).hexdigest()


def logged_in(request: Request) -> bool:
    return request.session.get("user") == USER


class AuthGate:
    """ASGI middleware (inside the session middleware): lets a request without a session reach only
    the public paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        # a feed reader brings the feed's token, a metrics scraper its bearer token: not a session
        feed = path.endswith("/feed.atom") or path == "/metrics"
        if scope["type"] != "http" or path.startswith(PUBLIC) or feed or scope["session"].get("user") == USER:
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/"):
            response = JSONResponse({"error": "log in first: POST /login with the password in "
                                              f"<data_dir>/{SECRET_FILE} (see docs/web.md)", "status": 401}, 401)
        elif scope["method"] in ("GET", "HEAD"):
            query = scope.get("query_string", b"").decode("latin-1")
            response = RedirectResponse("/login?next=" + quote(path + (f"?{query}" if query else ""), safe=""), 303)
        else:
            response = page(Request(scope, receive), "error.html", status=401, status_code=401,
                            message="Your session has ended: log in again, then repeat what you did.")
        await response(scope, receive, send)


async def login_form(request: Request) -> Response:
    target = local_path(request.query_params.get("next"))
    if logged_in(request):
        return RedirectResponse(target, 303)
    return page(request, "login.html", next=target, error="")


async def login(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf"))
    target = local_path(str(form.get("next") or "/"))
    sent = str(form.get("password") or "")
    if hmac.compare_digest(sent.encode(), request.app.state.password.encode()):
        request.session.clear()
        request.session["user"] = USER
        csrf_token(request)  # a fresh token: one from before the login is stale now
        return RedirectResponse(target, 303)
    async with request.app.state.login_lock:  # failed logins wait their turn, one pause each
        await asyncio.sleep(request.app.state.login_pause_s)
    return page(request, "login.html", status=401, next=target,
                error=f"Wrong password. It is in {SECRET_FILE} in the data directory.")


async def logout(request: Request) -> Response:
    check_csrf(request, (await request.form()).get("csrf"))
    request.session.clear()
    return RedirectResponse("/login", 303)


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
