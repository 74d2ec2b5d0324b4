"""The JSON bodies the Hub API, the LFS API and the commit endpoint accept, as pydantic models.

Every route that takes a JSON body reads it through `parse_body(ctx, Model)`: the body must be
an object (`Ctx.json_object`), each field of the model the type the Hub's clients send, and a
body that is not gets a 400 in the Hub's error format naming the field (`'files' must be a
list`), never a 500 from code that trusted its shape. The models describe only what this hub
reads: other fields are ignored (the clients send more than a hub needs, e.g. Space options),
and nothing is coerced (`"5"` is not a number, `1` is not a boolean), as on the Hub.

Attributes carry the wire names (`startingPoint`, `gitIgnore`), so messages name what the
client sent. Integers are bounded to what the database stores (BIGINT) and text must be
Unicode without NUL (a lone surrogate escape in JSON is not Unicode; PostgreSQL refuses NUL),
so a value that passes the model can reach SQL and git. Commit payloads (NDJSON lines, and the older JSON form) are parsed here too, into
the typed operations of `domain.commit_ops`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)
from starlette.datastructures import QueryParams

from hubstead.domain.commit_ops import (
    AddFile,
    AddLfsFile,
    CommitHeader,
    CommitRequest,
    DeleteFile,
    DeleteFolder,
    Operation,
)
from hubstead.domain.errors import BadRequest
from hubstead.domain.hashing import is_sha256
from hubstead.domain.paths import check_git_file, validate_folder, validate_path
from hubstead.protocols.http import Ctx

MAX_BIGINT = 2**63 - 1  # the largest integer a database column here holds
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PARENT_RE = re.compile(r"[0-9a-fA-F]{5,40}")
_DIGITS = re.compile(r"[0-9]+")


def _unicode(value: str) -> str:
    """Text git and every database can store: no lone surrogate (JSON can spell one, UTF-8
    cannot) and no NUL (PostgreSQL refuses it in text, git cuts a message there)."""
    if _SURROGATE.search(value):
        raise ValueError("must be valid Unicode text")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[StrictStr, AfterValidator(_unicode)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_BIGINT)]
Model = TypeVar("Model", bound="Body")


class Body(BaseModel):
    """A JSON object of the API: fields of exact types, other fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    # a field's own message, for the fields whose refusal the Hub words in its own way
    messages: ClassVar[dict[str, str]] = {}


# -- validation -------------------------------------------------------------------------------


def parse_body(ctx: Ctx, model: type[Model]) -> Model:
    """The request's JSON body as `model` ({} when empty), or a 400 that says what is wrong."""
    return validate(model, ctx.json_object())


def validate(model: type[Model], data: object, prefix: str = "") -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise BadRequest(prefix + describe(error, model)) from None


def describe(error: ValidationError, model: type[Body]) -> str:
    """The first problem pydantic found, as a sentence that names the field the client sent."""
    problem = error.errors(include_url=False)[0]
    location = problem["loc"]
    if len(location) == 1 and location[0] in model.messages:  # the field itself, not within it
        return model.messages[str(location[0])]
    name = field_name(location)
    kind, context = problem["type"], problem.get("ctx") or {}
    if kind == "missing":
        return f"'{name}' is required"
    if kind in _EXPECTED:
        return f"'{name}' must be {_EXPECTED[kind]}"
    if kind == "literal_error":
        return f"'{name}' must be {context['expected']}"
    if kind in ("less_than_equal", "less_than"):
        return f"'{name}' must be at most {context.get('le', context.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"'{name}' must be at least {context.get('ge', context.get('gt'))}"
    if kind == "too_long":
        return f"'{name}' must have at most {context['max_length']} items"
    if kind == "string_too_long":
        return f"'{name}' must have at most {context['max_length']} characters"
    if kind == "value_error":
        return f"'{name}' {context['error']}"
    return f"'{name}': {problem['msg']}"


_EXPECTED = {
    "string_type": "a string",
    "bool_type": "a boolean",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def field_name(location: tuple[int | str, ...]) -> str:
    """`('files', 0, 'path')` → `files[0].path`."""
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def query_int(ctx: Ctx, name: str, default: int, maximum: int = MAX_BIGINT) -> int:
    """An integer query parameter (`?p=2`), ASCII digits only and at most `maximum`."""
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return default
    digits = raw.lstrip("0") or "0"
    if not _DIGITS.fullmatch(raw) or len(digits) > 19 or int(digits) > maximum:
        raise BadRequest(f"'{name}' must be a number from 0 to {maximum}")
    return int(digits)


def check_query_text(query: QueryParams) -> None:
    """Refuse a query parameter holding a NUL: it names nothing, and PostgreSQL refuses it in
    any text it compares (a search, an author), which would answer 500."""
    if any("\x00" in key or "\x00" in value for key, value in query.multi_items()):
        raise BadRequest("Query parameters cannot contain NUL characters")


def lenient_int(raw: str | None, default: int) -> int:
    """A query parameter the Hub reads leniently (`limit`): its number, or `default` when it
    is none (not ASCII digits, or past any database's range)."""
    digits = ascii_digits(raw)
    return default if digits is None else int(digits)


def ascii_digits(raw: str | None) -> str | None:
    """`raw` if it is a number of at most 18 ASCII digits, else None. `str.isdigit` is not
    enough before `int()`: it accepts `²`, which `int()` refuses."""
    if raw is None or not _DIGITS.fullmatch(raw) or len(raw) > 18:
        return None
    return raw


# -- repositories -----------------------------------------------------------------------------


class RepoNamed(Body):
    """What names a repository in a create or delete body (`HfApi.create_repo`, `delete_repo`)."""

    name: Text
    organization: Text | None = None
    type: Text | None = None


class RepoCreate(RepoNamed):
    private: StrictBool | None = None
    # "protected" (a Space whose app is public, its files private) is a private repository here
    visibility: Literal["public", "private", "protected"] | None = None


class RepoMove(Body):
    fromRepo: Text
    toRepo: Text
    type: Text | None = None


class RepoSettings(Body):
    private: StrictBool | None = None
    visibility: Literal["public", "private"] | None = None
    gated: Literal[False, "auto", "manual"] | None = None
    messages: ClassVar[dict[str, str]] = {
        "visibility": "'visibility' must be 'public' or 'private'",
        "gated": '\'gated\' must be one of false, "auto", "manual"',
    }


class RepoDuplicate(Body):
    repository: Text
    private: StrictBool | None = None
    visibility: Literal["public", "private"] | None = None
    # Space runtime options and resource groups, which this hub refuses by name
    hardware: Any = None
    sleepTimeSeconds: Any = None
    secrets: Any = None
    variables: Any = None
    volumes: Any = None
    resourceGroupId: Any = None
    messages: ClassVar[dict[str, str]] = {
        "repository": "'repository' is required: the id of the new repository, 'namespace/name'",
        "visibility": "'visibility' must be 'public' or 'private' ('protected' Spaces are not "
        "supported on this hub)",
    }


class ValidateYaml(Body):
    content: Text = ""
    repoType: Text | None = None


# -- refs -------------------------------------------------------------------------------------


class BranchCreate(Body):
    startingPoint: Text | None = None


class TagCreate(Body):
    tag: Text
    message: Text | None = None


class SuperSquash(Body):
    message: Text | None = None


# -- files ------------------------------------------------------------------------------------


class PreuploadFile(Body):
    path: Text
    size: Count = 0
    sample: StrictStr | None = None  # base64


class Preupload(Body):
    files: list[PreuploadFile]
    gitIgnore: Text | None = None


class PathsInfo(Body):
    paths: list[Text] | None = None
    expand: StrictBool | None = None


# -- discussions ------------------------------------------------------------------------------


class DiscussionCreate(Body):
    title: Text | None = None
    description: Text | None = None
    pullRequest: StrictBool | None = None


class DiscussionComment(Body):
    comment: Text | None = None


class DiscussionTitle(Body):
    title: Text | None = None


class DiscussionStatus(Body):
    status: Text | None = None
    comment: Text | None = None


class CommentEdit(Body):
    content: Text | None = None


# -- access requests --------------------------------------------------------------------------


def _request_id(value: object) -> str | None:
    """A request id is the requester's user id: an integer, or its digits as a string."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError("must be a request id (a number)")
    if not _DIGITS.fullmatch(text) or int(text) > MAX_BIGINT:
        raise ValueError("must be a request id (a number)")
    return text


RequestId = Annotated[StrictStr | None, BeforeValidator(_request_id)]


class AccessTarget(Body):
    """Who a writer names: `user`, or `requestId` (`userId` on the Hub's schema)."""

    user: Text | None = None
    requestId: RequestId = None
    userId: RequestId = None

    @property
    def request_id(self) -> str | None:
        return self.requestId if self.requestId is not None else self.userId


class AccessReview(AccessTarget):
    status: Text | None = None
    rejectionReason: Text | None = None


# -- LFS and storage --------------------------------------------------------------------------


class LfsRef(Body):
    name: Text | None = None


class LfsBatch(Body):
    """`POST …/info/lfs/objects/batch`. Objects stay loosely typed: one that is malformed is
    answered with its own error inside the batch answer, as the git-lfs API says, unless its
    size is an integer no database holds."""

    operation: Text | None = None
    transfers: list[Text] | None = None
    objects: list[Any] | None = None
    ref: LfsRef | None = None
    hash_algo: Text = "sha256"

    @field_validator("objects")
    @classmethod
    def _sizes_in_range(cls, objects: list[Any] | None) -> list[Any] | None:
        for number, item in enumerate(objects or []):
            size = item.get("size") if isinstance(item, dict) else None
            if isinstance(size, int) and not isinstance(size, bool) and size > MAX_BIGINT:
                raise ValueError(f"item {number} has a 'size' over {MAX_BIGINT}")
        return objects


class LfsObject(Body):
    """An object named by verify: its sha256 and size."""

    oid: Text
    size: Count
    messages: ClassVar[dict[str, str]] = {
        "oid": "Verify needs a sha256 'oid' and an integer 'size'",
        "size": "Verify needs a sha256 'oid' and an integer 'size'",
    }


class LfsPart(Body):
    partNumber: Annotated[StrictInt, Field(ge=1, le=MAX_BIGINT)]
    etag: Text | None = None


class LfsCompletion(Body):
    oid: Text | None = None
    parts: list[LfsPart] = []


class LfsDeletions(Body):
    sha: list[Text]
    rewriteHistory: StrictBool = False


class LfsFilesDelete(Body):
    deletions: LfsDeletions
    messages: ClassVar[dict[str, str]] = {
        "deletions": '\'deletions\' must be an object: {"sha": [...], "rewriteHistory": bool}'
    }


class LfsFileCopy(Body):
    sha256: Text
    xetHash: Text | None = None
    filename: Text | None = None


class RepoRef(Body):
    type: Text | None = None
    name: Text


class LfsFilesDuplicate(Body):
    target: RepoRef
    files: list[LfsFileCopy]
    messages: ClassVar[dict[str, str]] = {
        "target": '\'target\' must be {"type": ..., "name": "namespace/name"}',
        "files": '\'files\' must be a list of {"sha256", "xetHash", "filename"}',
    }


# -- commits ----------------------------------------------------------------------------------


class CommitHeaderValue(Body):
    summary: Text
    description: Text | None = None
    parentCommit: Text | None = None

    @field_validator("summary")
    @classmethod
    def _not_blank(cls, summary: str) -> str:
        if not summary.strip():
            raise ValueError("must not be empty")
        return summary

    @field_validator("parentCommit")
    @classmethod
    def _commit_id(cls, parent: str | None) -> str | None:
        if parent is not None and not _PARENT_RE.fullmatch(parent):
            raise ValueError("must be a commit id")
        return parent


class FileValue(Body):
    """A file inlined in the commit (`key: "file"`)."""

    path: Text
    content: StrictStr = ""  # not scanned here: it may be 100 MB of base64
    encoding: Literal["base64", "utf-8", "utf8"] = "utf-8"


class LfsFileValue(Body):
    """A file whose bytes were uploaded through LFS or Xet (`key: "lfsFile"`); no `size` for a
    copy of an object the repository already has."""

    path: Text
    oid: Text
    algo: Literal["sha256"] = "sha256"
    size: Count | None = None


class DeletedValue(Body):
    """`deletedFile` and `deletedFolder`."""

    path: Text


class CommitLine(Body):
    key: Text
    value: dict[str, Any]


class JsonCommit(Body):
    """The older JSON form of a commit: the header's fields and one list per operation kind."""

    summary: Any = None
    description: Any = None
    parentCommit: Any = None
    files: list[dict[str, Any]] | None = None
    lfsFiles: list[dict[str, Any]] | None = None
    deletedFiles: list[dict[str, Any]] | None = None
    deletedFolders: list[dict[str, Any]] | None = None


_OPERATIONS: dict[str, type[Body]] = {
    "file": FileValue,
    "lfsFile": LfsFileValue,
    "deletedFile": DeletedValue,
    "deletedFolder": DeletedValue,
}
MALFORMED = "Malformed commit payload: "


def parse_ndjson_commit(body: bytes | Iterable[bytes]) -> CommitRequest:
    """Parse the NDJSON body of `POST /api/{type}s/{id}/commit/{rev}`: the bytes, or its lines.

    Each line becomes its operation as it is read, so a body read line by line from a file never
    has its base64 text and the decoded content in memory at once, only the content."""
    lines = body.split(b"\n") if isinstance(body, bytes) else body
    header: CommitHeader | None = None
    operations: list[Operation] = []
    number = 0
    for line in lines:
        if not line.strip():
            continue
        number += 1
        item = _ndjson_line(line, number)
        if header is None:
            if item.key != "header":
                raise BadRequest(MALFORMED + "the first line must be the header")
            header = _header(item.value, f"{MALFORMED}line {number} (header): ")
        else:
            where = f"{MALFORMED}line {number} ({item.key}): "
            operations.append(_operation(item.key, item.value, where))
    if header is None:
        raise BadRequest("Empty commit payload")
    return CommitRequest(header=header, operations=operations)


def _ndjson_line(line: bytes, number: int) -> CommitLine:
    try:
        item = json.loads(line)
    except (ValueError, RecursionError) as error:  # bad JSON, bad UTF-8, a 5000-digit number
        detail = error.msg if isinstance(error, json.JSONDecodeError) else "unreadable"
        raise BadRequest(f"{MALFORMED}line {number} is not valid JSON ({detail})") from None
    if not isinstance(item, dict):
        raise BadRequest(f"{MALFORMED}line {number} must be an object with 'key' and 'value'")
    return validate(CommitLine, item, f"{MALFORMED}line {number}: ")


def parse_json_commit(payload: object) -> CommitRequest:
    """Parse the older JSON form: {"summary", "description", "files", "lfsFiles", "deletedFiles"}."""
    form = validate(JsonCommit, payload, MALFORMED)
    header = {
        key: value
        for key, value in (
            ("summary", form.summary),
            ("description", form.description),
            ("parentCommit", form.parentCommit),
        )
        if value is not None
    }
    operations = [
        _operation(kind, value, f"{MALFORMED}{field}[{number}]: ")
        for field, kind, values in (
            ("files", "file", form.files),
            ("lfsFiles", "lfsFile", form.lfsFiles),
            ("deletedFiles", "deletedFile", form.deletedFiles),
            ("deletedFolders", "deletedFolder", form.deletedFolders),
        )
        for number, value in enumerate(values or [])
    ]
    return CommitRequest(header=_header(header, f"{MALFORMED}header: "), operations=operations)


def _header(value: dict[str, Any], prefix: str) -> CommitHeader:
    header = validate(CommitHeaderValue, value, prefix)
    return CommitHeader(
        summary=header.summary.strip(),
        description=header.description or "",
        parent_commit=header.parentCommit.lower() if header.parentCommit else None,
    )


def _operation(key: str, value: dict[str, Any], prefix: str) -> Operation:
    model = _OPERATIONS.get(key)
    if model is None:
        raise BadRequest(f"{prefix}unknown key {key!r}")
    parsed = validate(model, value, prefix)
    if isinstance(parsed, FileValue):
        path, content = validate_path(parsed.path), _content(parsed)
        check_git_file(path, content)
        return AddFile(path=path, content=content)
    if isinstance(parsed, LfsFileValue):
        if not is_sha256(parsed.oid):
            raise BadRequest(f"{prefix}{parsed.path!r} needs a sha256 'oid'")
        return AddLfsFile(path=validate_path(parsed.path), oid=parsed.oid, size=parsed.size)
    assert isinstance(parsed, DeletedValue)
    if key == "deletedFolder":
        return DeleteFolder(path=validate_folder(parsed.path))
    return DeleteFile(path=validate_path(parsed.path))


def _content(value: FileValue) -> bytes:
    if value.encoding == "base64":
        try:
            return base64.b64decode(value.content, validate=True)
        except (binascii.Error, ValueError):  # ValueError: a non-ASCII character
            raise BadRequest(f"{MALFORMED}invalid base64 content for {value.path!r}") from None
    try:
        return value.content.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{MALFORMED}the content of {value.path!r} is not valid Unicode") from None
