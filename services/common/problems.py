"""RFC 9457 problem+json answers, and handlers so that no error leaves a service in another shape."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers, self.extra = (
            status,
            detail,
            errors,
            headers,
            extra,
        )


def problem_response(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    **extra: Any,
) -> Response:
    doc: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    doc["detail"] = detail
    if instance:
        doc["instance"] = instance
    if errors is not None:
        doc["errors"] = errors
    doc.update(extra)
    return Response(_dumps(doc), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _dumps(doc: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(doc)
    except TypeError:
        # A refusal may quote the client's text, and JSON lets a client send a lone surrogate ("\udc00")
        # that no UTF-8 encoder accepts: quote it with U+FFFD instead of failing with a 500.
        return orjson.dumps(_encodable(doc))


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    return value


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        errors.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return errors


def install_problem_handlers(app: FastAPI, *, validation_status: int = 422) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(
            exc.status,
            exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            instance=request.url.path,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(validation_status, detail, errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return problem_response(
            exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None), instance=request.url.path
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(500, "internal error; it has been logged", instance=request.url.path)


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, the shape of every error the three APIs answer."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(None, description="Each bad field: `field` and `message`.")


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON Schema with its `$defs` written in place (a `#/$defs/…` reference would not
    resolve inside an OpenAPI document)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


def problems(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, each application/problem+json."""
    content = {"application/problem+json": {"schema": _inlined(ProblemDocument.model_json_schema())}}
    return {status: {"description": text, "content": content} for status, text in descriptions.items()}


AUTH_PROBLEMS = {401: "No API key, or an unknown one", 403: "The API key lacks the scope this needs"}
