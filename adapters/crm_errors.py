"""The few kinds of CRM failure the rest of the engine sees (never an HTTP status)."""

from __future__ import annotations


class CrmError(Exception):
    """Base of the CRM failures; its message is fit to show a user."""


class CrmRetryable(CrmError):
    """5xx, timeouts, dropped connections: the same call may succeed later."""


class CrmLimitReached(CrmError):
    """The CRM's API limit (or our api_budget) is spent: stop the step, resume next run."""


class CrmFatal(CrmError):
    """Bad credentials, a schema gone, a cursor that does not move: a person must act."""
