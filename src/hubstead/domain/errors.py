"""The error vocabulary shared by every layer.

Each error carries the HTTP status and the `X-Error-Code` the Hub uses, because the official
client decides which exception to raise from that header alone (see docs/api-compatibility.md).
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error a client may see; rendered in the Hub's error format."""

    status: int = 400
    code: str | None = None

    def __init__(
        self, message: str, *, status: int | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})
        self.extra: dict[str, object] = {}  # more fields of the JSON error body

    def with_body(self, extra: dict[str, object]) -> HubError:
        """The same error, its JSON body carrying `extra` next to `error` (`estimated_time`…)."""
        self.extra = dict(extra)
        return self


class BadRequest(HubError):
    status = 400


class InvalidName(HubError):
    status = 400


class InvalidPath(HubError):
    """A path inside a repository that could escape it or touch git internals."""

    status = 400


class Unauthorized(HubError):
    status = 401


class InvalidCredentials(Unauthorized):
    def __init__(self) -> None:
        super().__init__("Invalid credentials in Authorization header")


class Forbidden(HubError):
    status = 403


class NotFound(HubError):
    status = 404


class RepoNotFound(NotFound):
    code = "RepoNotFound"

    def __init__(self, message: str = "Repository not found", *, status: int = 404):
        super().__init__(message, status=status)


class GatedRepo(HubError):
    """The repository is visible but its files are gated and the caller may not download them:
    403 for a signed-in caller, 401 for an anonymous one (the client raises `GatedRepoError`)."""

    status = 403
    code = "GatedRepo"


class RevisionNotFound(NotFound):
    code = "RevisionNotFound"


class EntryNotFound(NotFound):
    code = "EntryNotFound"


class Conflict(HubError):
    status = 409


class PreconditionFailed(HubError):
    status = 412


class RangeNotSatisfiable(HubError):
    status = 416


class PayloadTooLarge(HubError):
    status = 413


class UnprocessableEntity(HubError):
    status = 422


class RateLimited(HubError):
    """Too many requests in a window: `Retry-After` says when the window ends."""

    status = 429
    code = "RateLimited"
