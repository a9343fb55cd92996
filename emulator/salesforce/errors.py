"""Salesforce's error shape: a list of {message, errorCode, fields} with an HTTP status."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 fields: list[str] | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []
        self.extra = extra or {}

    def body(self) -> list[dict[str, Any]]:
        """The REST error body (sObject routes, query)."""
        return [{**self.extra, "message": self.message, "errorCode": self.code,
                 "fields": self.fields}]

    def collection_error(self) -> dict[str, Any]:
        """One entry of a collections result's `errors` (there the code is `statusCode`)."""
        return {**self.extra, "statusCode": self.code, "message": self.message,
                "fields": self.fields}


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def malformed_query(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", message)


def invalid_field(message: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", message)


class OAuthError(Exception):
    """OAuth endpoints answer {"error", "error_description"}, not the REST error list."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}
