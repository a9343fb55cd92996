"""Small helpers shared by the route modules: JSON in, JSON out, request context."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.wrappers import Request, Response

from syncledger.emulator.salesforce.errors import ApiError
from syncledger.emulator.salesforce.store import WriteOptions

if TYPE_CHECKING:
    from syncledger.emulator.salesforce.state import Org

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Ctx:
    org: Org
    request: Request
    version: str

    def write_options(self) -> WriteOptions:
        assign = self.request.headers.get("Sforce-Auto-Assign", "TRUE").strip().lower()
        duplicate = self.request.headers.get("Sforce-Duplicate-Rule-Header", "").lower()
        return WriteOptions(auto_assign=assign not in ("false", "0", "no"),
                            allow_duplicates="allowsave=true" in duplicate.replace(" ", ""))

    def json_body(self) -> Any:
        raw = self.request.get_data(cache=True)
        if not raw:
            return None
        try:
            return parse_json(raw)
        except ValueError as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None

    def object_body(self) -> dict[str, Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR",
                           "Cannot deserialize instance of object from the request body")
        return body


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    path: str
    handler: Handler
    kinds: dict[str, str]   # method -> stats kind ("admin" and "public" are not API calls)


def parse_json(raw: str | bytes) -> Any:
    """The emulator serves the sync's whole traffic in its process (tests, the benchmarks):
    orjson, several times faster, parses what it can; the standard parser the rest (NaN,
    integers beyond 64 bits) and words its errors."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def json_text(body: Any) -> bytes:
    try:
        return orjson.dumps(body)
    except TypeError:  # what orjson does not write (integers beyond 64 bits)
        return json.dumps(body, separators=(",", ":")).encode()


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json_text(body), status=status, content_type=JSON_TYPE)


def error_response(error: ApiError) -> Response:
    return json_response(error.body(), error.status)


def no_content() -> Response:
    return Response(status=204)
