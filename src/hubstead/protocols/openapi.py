"""The HTTP API described as OpenAPI 3.1 (`GET /openapi.json`), made from the router itself.

Every `/api/…` route becomes an operation: its path from the route's template (a repository
route under `/api/{rtype}/{ns}/{name}`), its path parameters, and, where the handler reads its
body through `schemas.parse_body(ctx, Model)`, the body's JSON Schema from that pydantic model.
The models are found by reading each handler's own source (`ast`): the description cannot
drift from the code, and no route has to declare its model twice. A route whose regex has no
OpenAPI spelling (alternatives, optional parts) is left out rather than described wrongly.
Answers are described only as the Hub's error format, which every route shares.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from functools import cache
from typing import Any

from pydantic import BaseModel

from hubstead import __version__
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Route, Router
from hubstead.protocols.schemas import Body

router = Router()
DESCRIBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REPO_PREFIX = "/api/{rtype}/{ns}/{name}"
_NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>")
_PLACEHOLDER = re.compile(r"\{(?P<name>\w+)(?::\w+)?\}")
_REGEX_SYNTAX = re.compile(r"[()\[\]?*+|^$\\]")
_OPTIONAL = re.compile(r"\(\?:([^()]*)\)\?")
ERROR = {
    "description": "An error in the Hub's format (also in `X-Error-Message`)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            }
        }
    },
}


def _strip_groups(text: str) -> str:
    """`(?P<name>…)` → `{name}`, keeping the rest of the pattern (balanced parentheses)."""
    out, position = [], 0
    for found in _NAMED_GROUP.finditer(text):
        if found.start() < position:
            continue
        depth, index = 1, found.end()
        while index < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[index], 0)
            index += 1 if text[index] != "\\" else 2
        out.append(text[position : found.start()] + "{" + found.group("name") + "}")
        position = index
    return "".join(out) + text[position:]


def _variants(text: str) -> list[str]:
    """A template with optional parts (`(?:/revision/{rev})?`) as every path it matches."""
    found = _OPTIONAL.search(text)
    if found is None:
        return [text]
    before, after = text[: found.start()], text[found.end() :]
    return [*_variants(before + after), *_variants(before + found.group(1) + after)]


def openapi_paths(route: Route) -> list[str]:
    """The route's paths in OpenAPI's spelling: none when it is not the API or its pattern has
    no such spelling (alternatives, wildcards)."""
    text = _PLACEHOLDER.sub(lambda m: "{" + m.group("name") + "}", route.template.text)
    form = route.template.form
    if form is not None:
        if form.name != "api":
            return []
        text = REPO_PREFIX + text
    paths = []
    for variant in _variants(_strip_groups(text)):
        path = variant.replace(r"\.", ".").replace(r"\-", "-")
        if path.startswith("/api/") and not _REGEX_SYNTAX.search(path):
            paths.append(path)
    return paths


@cache
def body_model(handler: Any) -> type[BaseModel] | None:
    """The model the handler parses its body into (`parse_body(ctx, Model)`), if it does."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(handler)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "parse_body"
            and len(node.args) == 2
            and isinstance(node.args[1], ast.Name)
        ):
            model = handler.__globals__.get(node.args[1].id)
            if isinstance(model, type) and issubclass(model, Body):
                return model
    return None


def _parameters(path: str) -> list[dict[str, Any]]:
    parameters = []
    for name in re.findall(r"\{(\w+)\}", path):
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if name == "rtype":
            schema = {"type": "string", "enum": ["models", "datasets", "spaces"]}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _operation(route: Route, method: str, path: str, components: dict) -> dict[str, Any]:
    summary = (inspect.getdoc(route.handler) or route.handler.__name__).split("\n")[0]
    operation: dict[str, Any] = {
        "operationId": f"{method.lower()}_{route.handler.__module__.rsplit('.', 1)[-1]}_"
        f"{route.handler.__name__}",
        "summary": summary[:200],
        "parameters": _parameters(path),
        "responses": {"200": {"description": "The Hub's answer"}, "default": ERROR},
    }
    model = body_model(route.handler) if method != "GET" else None
    if model is not None:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        operation["requestBody"] = {
            "required": False,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    return operation


def document(routes: list[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {}
    for route in routes:
        if route.fallback:
            continue
        for path in openapi_paths(route):
            for method in DESCRIBED_METHODS:
                if method in route.methods and method.lower() not in paths.get(path, {}):
                    operation = _operation(route, method, path, components)
                    paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hubstead",
            "version": __version__,
            "description": "The Hugging Face Hub's HTTP API as Hubstead serves it.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"token": []}],
        "paths": dict(sorted(paths.items())),
    }


class Described:
    """The document of the application's router, made once it has every route."""

    document: dict[str, Any] = {}


def describe(routes: list[Route]) -> None:
    Described.document = document(routes)


@router.route("GET", r"/openapi\.json")
def openapi(ctx: Ctx):
    return json_response(Described.document, headers={"Cache-Control": "public, max-age=300"})
