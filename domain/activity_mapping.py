"""How an app activity becomes a Salesforce Task or Note (DESIGN.md "App import format"), as
pure functions of the activity, the business timezone and the step's switches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

SUBTYPE = {"email": "Email", "call": "Call", "task": "Task", "linkedin": "LinkedIn"}
TASK_TYPE = {"email": "Email", "call": "Call", "task": "Other", "linkedin": "Other"}
COUNT_KIND = {"email": "emails", "call": "calls", "task": "tasks", "note": "notes",
              "linkedin": "linkedin"}
NOTE_TITLE = 80


def activity_date(kind: str, details: dict[str, Any], at: datetime, timezone: str) -> str:
    """A date-only CRM field: the business day in the integration's timezone."""
    if kind == "task" and details.get("due"):
        return str(date.fromisoformat(str(details["due"])[:10]))
    return at.astimezone(ZoneInfo(timezone)).date().isoformat()


def task_subject(kind: str, details: dict[str, Any]) -> str:
    if kind == "email":
        return str(details.get("subject") or "Email")
    if kind == "call":
        return f"Call: {details['outcome']}" if details.get("outcome") else "Call"
    if kind == "task":
        return str(details.get("title") or "Task")
    return f"LinkedIn {details.get('action', 'activity')}"


def task_description(kind: str, details: dict[str, Any]) -> str | None:
    body = {"email": "body", "call": "notes", "task": "notes", "linkedin": "message"}[kind]
    value = details.get(body)
    return None if value in (None, "") else str(value)


def task_fields(kind: str, details: dict[str, Any], at: datetime, timezone: str,
                who: str, include_contents: bool) -> dict[str, Any]:
    done = kind != "task" or bool(details.get("done"))
    fields = {"WhoId": who, "Subject": task_subject(kind, details),
              "ActivityDate": activity_date(kind, details, at, timezone),
              "Status": "Completed" if done else "Not Started",
              "TaskSubtype": SUBTYPE[kind], "Type": TASK_TYPE[kind]}
    description = task_description(kind, details) if include_contents else None
    if description is not None:
        fields["Description"] = description
    return fields


def note_fields(details: dict[str, Any], parent: str, key: str,
                include_contents: bool) -> dict[str, Any]:
    """A Note takes no custom field: the idempotency key ends its Title (first line, 80)."""
    text = str(details.get("text") or "")
    suffix = f" [{key}]"
    first_line = text.splitlines()[0] if text else "Note"
    title = first_line[:NOTE_TITLE - len(suffix)] + suffix
    fields = {"ParentId": parent, "Title": title}
    if include_contents:
        fields["Body"] = text
    return fields


def lead_status_for(status: str, mappings: dict[str, str], picklist: dict[str, str]
                    ) -> str | None:
    """The LeadStatus API value for an app status: the step's mapping, else (the Default
    profile) the value with the same label, case-insensitive; None when none matches."""
    mapped = mappings.get(status)
    if mapped is not None:
        return picklist.get(mapped.lower())
    return picklist.get(status.lower())
