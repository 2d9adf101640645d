"""Under /console a person reads the errors, not a program: a 404, a 405, a database outage or an
unexpected error answers an HTML page in the console's frame, with the same status and headers the API
would give (Allow, Retry-After). Elsewhere the app's problem+json handlers answer as before: each of
them is wrapped, so the status is still decided in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.responses import Response

from .i18n import N_
from .pages import LoginRequired, PageError, error_page

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
PREFIX = "/console"
# Status → (title, message) a person can act on; any other status gets the last.
PAGES = {
    404: (N_("Page not found"), N_("There is no such page in the console.")),
    405: (N_("Not possible here"), N_("This page cannot be used that way; go back and use its form.")),
    422: (
        N_("Not accepted"),
        N_("The form was incomplete or malformed; go back, check it and send it again."),
    ),
    503: (N_("The database is unavailable"), N_("Nothing was recorded. Wait a moment and reload the page.")),
    500: (
        N_("Something went wrong"),
        N_("The error has been logged. Reload the page, or go back to the inbox."),
    ),
}
OTHER = (N_("Request refused"), N_("The console could not answer this request."))
KEPT_HEADERS = ("allow", "retry-after")


def install_console_errors(app: FastAPI) -> None:
    """Call after every other handler is installed: those registered later are not wrapped."""
    for kind, handler in list(app.exception_handlers.items()):
        if kind not in (LoginRequired, PageError):  # already the console's own
            app.exception_handlers[kind] = _html_under_console(handler)


def _html_under_console(handler: Handler) -> Handler:
    async def wrapped(request: Request, exc: Exception) -> Response:
        answer = handler(request, exc)
        response = await answer if isinstance(answer, Awaitable) else answer
        if not _under_console(request.url.path):
            return response
        title, message = PAGES.get(response.status_code, OTHER)
        page = await error_page(request, PageError(response.status_code, title, message))
        for name in KEPT_HEADERS:
            if name in response.headers:
                page.headers[name] = response.headers[name]
        return page

    return wrapped


def _under_console(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")
