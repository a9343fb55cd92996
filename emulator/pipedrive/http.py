"""JSON responses and Pipedrive's error bodies."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."


class ApiError(Exception):
    """Raised by a handler to answer with Pipedrive's error body."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status,
                    mimetype="application/json")


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "error": message, "errorCode": status,
                            "error_info": ERROR_INFO, "data": None, "additional_data": None}
    if code is not None:
        body["code"] = code
    return body


def error_response(status: int, message: str, code: str | None = None) -> Response:
    return json_response(error_body(status, message, code), status)


def ok(data: Any, additional_data: Any = None, status: int = 200) -> Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if additional_data is not None:
        body["additional_data"] = additional_data
    return json_response(body, status)


def json_body(request: Any) -> dict[str, Any]:
    """The request's JSON object; Pipedrive v1 also takes form bodies, so those work too."""
    if request.mimetype == "application/json" or request.data[:1] in (b"{", b"["):
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError as exc:
            raise ApiError(400, f"Request body is not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return body
    return {key: value for key, value in request.form.items()}


def int_arg(args: Any, name: str, default: int | None = None, *, low: int | None = None,
            high: int | None = None) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"Parameter '{name}' must be an integer") from exc
    if low is not None and value < low:
        raise ApiError(400, f"Parameter '{name}' must be at least {low}")
    if high is not None and value > high:
        raise ApiError(400, f"Parameter '{name}' must be at most {high}")
    return value


def bool_arg(args: Any, name: str) -> bool:
    return str(args.get(name, "")).lower() in ("1", "true", "yes")
