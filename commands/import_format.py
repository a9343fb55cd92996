"""The app import format (JSON Lines), validated with pydantic, one model per kind."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from syncledger.commands.input_values import InputValueError, load_json

# The longest value the read models hold (projections/people.py, directory.py): a longer one
# would be recorded, then break the view for good on PostgreSQL (SQLite does not check).
KEY = 200
EMAIL = 320
ACCOUNT = 300


def _storable(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise ValueError("a time out of range") from None
    return moment


Moment = Annotated[datetime, AfterValidator(_storable)]
Key = Annotated[str, Field(min_length=1, max_length=KEY)]
Text = Annotated[str, Field(max_length=KEY)]

Operator = Literal["eq", "ne", "contains", "starts_with", "ends_with", "in", "is_empty"]


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def given(self) -> dict[str, Any]:
        """The keys the line actually set (a key left out keeps the recorded value)."""
        return {key: getattr(self, key) for key in self.model_fields_set
                if key not in ("kind", "id", "at")}


class TeamMemberLine(Line):
    kind: Literal["team_member"]
    id: Key
    email: str | None = None
    name: str | None = None


class SequenceStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=1)
    delay_days: int = Field(default=0, ge=0)


class SequenceLine(Line):
    kind: Literal["sequence"]
    id: Key
    name: str | None = None
    steps: list[SequenceStep] = []


class FilterRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1)
    op: Operator
    value: Any = None


class SavedFilterLine(Line):
    kind: Literal["saved_filter"]
    name: Key
    rules: list[FilterRule]


class ListLine(Line):
    kind: Literal["list"]
    id: Key
    name: str | None = None


class PersonLine(Line):
    kind: Literal["person"]
    id: Key
    email: Annotated[str, Field(max_length=EMAIL)] | None
    first_name: Text | None = None
    last_name: Text | None = None
    account: Annotated[str, Field(max_length=ACCOUNT)] | None = None
    owner: Text | None = None
    status: Text | None = None
    inbox_category: Text | None = None
    flags: list[Literal["opened", "replied", "bounced", "opted_out", "to_call", "clicked"]] \
        | None = None
    lists: list[str] | None = None
    fields: dict[str, Any] | None = None
    at: Moment | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or "@" not in value or value.strip() != value or " " in value:
            raise ValueError("a person needs an email like name@example.com")
        if len(value.lower()) > EMAIL:  # a few characters lengthen when lowercased
            raise ValueError(f"an email of at most {EMAIL} characters")
        return value.lower()


class ActivityLine(Line):
    kind: str
    id: str = Field(min_length=1)
    person: str = Field(min_length=1)
    owner: Text | None = None
    at: Moment | None = None


class EmailLine(ActivityLine):
    kind: Literal["email"]
    subject: str | None = None
    body: str | None = None
    direction: Literal["sent", "received"] = "sent"


class CallLine(ActivityLine):
    kind: Literal["call"]
    outcome: str | None = None
    duration_s: int | None = Field(default=None, ge=0)
    notes: str | None = None


class TaskLine(ActivityLine):
    kind: Literal["task"]
    title: str | None = None
    due: date | None = None
    done: bool = False
    notes: str | None = None


class NoteLine(ActivityLine):
    kind: Literal["note"]
    text: str = Field(min_length=1)


class LinkedInLine(ActivityLine):
    kind: Literal["linkedin"]
    action: Literal["message", "connect", "inmail", "view"]
    message: str | None = None


class SequenceLeftLine(Line):
    kind: Literal["sequence_left"]
    person: str = Field(min_length=1)
    sequence: str = Field(min_length=1)
    at: Moment | None = None


class PersonDeletedLine(Line):
    kind: Literal["person_deleted"]
    id: str = Field(min_length=1)
    at: Moment | None = None


AnyLine = Annotated[
    TeamMemberLine | SequenceLine | SavedFilterLine | ListLine | PersonLine | EmailLine
    | CallLine | TaskLine | NoteLine | LinkedInLine | SequenceLeftLine | PersonDeletedLine,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyLine)

KINDS = ("team_member", "sequence", "saved_filter", "list", "person", "email", "call", "task",
         "note", "linkedin", "sequence_left", "person_deleted")


class ImportLineError(ValueError):
    def __init__(self, source: str, number: int, reason: str) -> None:
        super().__init__(f"{source}:{number}: {reason}")


def parse_line(source: str, number: int, text: str) -> Any:
    try:
        raw = load_json(text)
    except json.JSONDecodeError as error:
        raise ImportLineError(source, number, f"not JSON ({error.msg})") from None
    except InputValueError as error:
        raise ImportLineError(source, number, str(error)) from None
    if not isinstance(raw, dict):
        raise ImportLineError(source, number, "expected a JSON object")
    if raw.get("kind") not in KINDS:
        raise ImportLineError(source, number,
                              f"unknown kind {raw.get('kind')!r}; expected one of "
                              f"{', '.join(KINDS)}")
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "line"
        message = first["msg"].removeprefix("Value error, ")
        raise ImportLineError(source, number, f"{where}: {message}") from None
