"""The server's logs: one line per request and every warning, as text or as JSON objects
(`HUBSTEAD_LOG_FORMAT=json`, with python-json-logger), each carrying the request's id (the
`X-Request-Id` of its answer), so a client's report finds its lines in the log.

The id lives in a context variable set by the application for each request; a logging filter
copies it into every record made while that request runs, in the request's thread or task
(starlette's thread pool copies the context into its threads).
"""

from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hubstead_request_id", default=None
)
TEXT_FORMAT = "%(levelname)s:%(name)s:%(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
FORMATS = ("text", "json")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            JSON_FIELDS,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def configure(log_format: str, names: tuple[str, ...] = ("hubstead",)) -> None:
    """Send the hub's loggers to stderr in `log_format`, once per process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RequestIdFilter())
    for name in names:
        logger = logging.getLogger(name)
        if any(isinstance(f, RequestIdFilter) for h in logger.handlers for f in h.filters):
            continue
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
