"""What every route module uses: the templates, the ledger in a worker thread, the CSRF-checked
request bodies, safe links, flash messages and the error pages.

Errors map at this boundary: NotFound -> 404, PermanentError -> 400, CsrfRefused -> 403. Under
/api/ an error is JSON `{"error", "status"}`; for a request from the page's script (header
`HX-Request: true`) it is the message as plain text; otherwise an HTML page.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from hmac import compare_digest
from typing import Any, TypeVar
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.templating import Jinja2Templates

from shared.errors import PermanentError
from shared.ledger import Ledger

T = TypeVar("T")
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"

templates = Jinja2Templates(env=Environment(
    loader=PackageLoader("questlog.webapp", "templates"), autoescape=select_autoescape(default=True),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True))


class CsrfRefused(PermanentError):
    """A write without this session's CSRF token: answered 403."""


class BadRequest(PermanentError):
    """A malformed query or body: answered 400."""


class QuestionId(Convertor[int]):
    # longer ids cannot exist and would overflow SQLite's integer binding: such a path is a 404
    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("qid", QuestionId())


# -- the ledger ---------------------------------------------------------------
def ledger(request: Request) -> Ledger:
    return request.app.state.ledger


async def db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a (blocking) ledger call in the thread pool, so one slow query never stalls the others."""
    return await run_in_threadpool(fn, *args, **kwargs)


# -- sessions, CSRF and flash ---------------------------------------------------
def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use (logging in makes a new one)."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    """Raises CsrfRefused unless `sent` is this session's token."""
    if not sent:
        raise CsrfRefused("Refused: this request carries no CSRF token, so it may not come from a questlog page. "
                          "Reload the page and try again.")
    expected = request.session.get(CSRF_FIELD)
    if not expected or not compare_digest(str(sent), str(expected)):
        raise CsrfRefused("Refused: this request's CSRF token is stale or belongs to another session (did you log "
                          "in again in another tab?). Reload the page and try again.")


async def posted_form(request: Request) -> FormData:
    """The form of a POST, once its CSRF token (header or `csrf` field) is checked."""
    form = await request.form()
    check_csrf(request, request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD))
    return form


async def posted_json(request: Request) -> dict:
    """The JSON object of an API write, once its CSRF header is checked."""
    check_csrf(request, request.headers.get(CSRF_HEADER))
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as e:
        raise BadRequest(f"the body is not JSON: {e}") from e
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def text_field(data: Any, name: str, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name!r} must be a string")
    return value


def flash(request: Request, message: str) -> None:
    request.session["flash"] = [*request.session.get("flash", []), message][-5:]


def is_script(request: Request) -> bool:
    """Sent by the page's own script (answered with a fragment, not a redirect)."""
    return request.headers.get("HX-Request") == "true"


# -- responses ------------------------------------------------------------------
def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.update(csrf=csrf_token(request), logged_in=bool(request.session.get("user")),
                   flashes=request.session.pop("flash", []) if "flash" in request.session else [])
    return templates.TemplateResponse(request, name, context, status_code=status)


def fragment(request: Request, name: str, **context: Any) -> HTMLResponse:
    context.update(csrf=csrf_token(request))
    return HTMLResponse(templates.get_template(name).render(request=request, **context))


def api_json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(json.loads(json.dumps(data, default=_plain)), status_code=status)


def _plain(o: Any) -> str:
    return o.isoformat() if hasattr(o, "isoformat") else str(o)


def error_response(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)
    if is_script(request):
        return PlainTextResponse(message, status_code=status, headers=headers)
    response = page(request, "error.html", status=status, status_code=status, message=message)
    response.headers.update(headers or {})
    return response


# -- links ----------------------------------------------------------------------
def safe_href(url: str | None) -> str | None:
    """Only http(s) URLs become links: a `javascript:` URL from a hostile feed stays text."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site (where to go back to after a form), else `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default
