"""Errors as HTML pages for browsers; API clients keep the Hub's JSON format.

A request wants a page when it is a GET from a browser: its Accept header names text/html and
it does not ask for JSON. A private repository's 404 is the same page as a missing one's.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hubstead.domain.errors import HubError
from hubstead.web.templating import render

TITLES = {
    401: "Sign in required",
    403: "Access denied",
    404: "Page not found",
    405: "Not allowed",
    413: "Too large",
    500: "Something went wrong",
    503: "Try again shortly",
    507: "Out of storage",
}


def wants_page(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept and "json" not in accept


def error_page(error: HubError) -> Response:
    """The site's error page for `error`, with its status and the Hub's error headers."""
    status = (
        error.status if error.status in TITLES else (500 if error.status >= 500 else error.status)
    )
    response = render(
        None,
        "errors/error.html",
        status=status,
        title=TITLES.get(status, "Error"),
        message=error.message,
        status_code=status,
    )
    if "Retry-After" in error.headers:  # a 503's or 429's, as in the JSON answer
        response.headers["Retry-After"] = error.headers["Retry-After"]
    response.headers["X-Error-Message"] = " ".join(error.message.split())[:1000]
    if error.code:
        response.headers["X-Error-Code"] = error.code
    return response
