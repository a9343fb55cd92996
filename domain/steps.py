"""What a sync step is, as plain values: its kinds, mappings, filter, owners, sequences.

The Default profile's steps are fixed here; a Custom profile's come from its configuration.
A step's name is its identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONFLICT_POLICIES = ("crm", "app", "latest")

# source kind -> target kinds it may flow to (either way round for people steps)
PEOPLE_CRM_KINDS = ("salesforce.contacts", "salesforce.leads", "pipedrive.persons")
STATUS_SOURCES = ("app.person_statuses", "app.inbox_categories")
ACTIVITY_SOURCES = ("app.emails", "app.tasks", "app.calls", "app.linkedin")
NOTE_SOURCES = ("app.notes",)
TASK_TARGETS = ("salesforce.lead_tasks", "salesforce.contact_tasks")
NOTE_TARGETS = ("salesforce.lead_notes", "salesforce.contact_notes")

CRM_OBJECT = {"salesforce.contacts": "Contact", "salesforce.leads": "Lead",
              "pipedrive.persons": "person", "salesforce.lead_statuses": "Lead",
              "salesforce.lead_tasks": "Lead", "salesforce.contact_tasks": "Contact",
              "salesforce.lead_notes": "Lead", "salesforce.contact_notes": "Contact"}


@dataclass(frozen=True)
class FieldMapping:
    crm: str
    app: str
    conflict: str | None = None  # overrides the integration's policy for this field


@dataclass(frozen=True)
class OwnerMapping:
    crm: str  # CRM user id
    app: str  # team member id


@dataclass(frozen=True)
class SequenceMapping:
    owner: str  # team member id, or "*" for everyone (steps without owner mappings)
    sequence: str
    step: int = 1
    ignore_step_delay: bool = False
    only_new_records: bool = False


@dataclass(frozen=True)
class FilterRule:
    field: str
    op: str  # eq, ne, contains, starts_with, ends_with, in, is_empty
    value: Any = None


@dataclass(frozen=True)
class StepFilter:
    rules: tuple[FilterRule, ...] = ()  # inbound: on CRM fields
    saved: str | None = None  # outbound: Opened, Replied, ... or a saved app filter
    list: str | None = None  # outbound: an app list id or name


@dataclass(frozen=True)
class StatusMapping:
    app: str
    crm: str


@dataclass(frozen=True)
class Step:
    name: str
    source: str
    target: str
    enabled: bool = True
    field_mappings: tuple[FieldMapping, ...] = ()
    filter: StepFilter | None = None
    owner_mappings: tuple[OwnerMapping, ...] | None = None  # None: the integration's list
    owner_match: str | None = None  # "email", or None: the integration's setting
    sequence_mappings: tuple[SequenceMapping, ...] = ()
    status_mappings: tuple[StatusMapping, ...] = ()
    include_contents: bool = False

    @property
    def inbound(self) -> bool:
        return not self.source.startswith("app.")

    @property
    def crm_kind(self) -> str:
        return self.source if self.inbound else self.target

    @property
    def crm_object(self) -> str:
        return CRM_OBJECT[self.crm_kind]

    @property
    def is_people(self) -> bool:
        return self.crm_kind in PEOPLE_CRM_KINDS


@dataclass(frozen=True)
class IntegrationSettings:
    enabled: bool = False
    every: str = "2h"
    overlap: str = "5m"
    timezone: str = "UTC"
    conflict: str = "crm"
    api_budget: float = 0.5
    owner_match: str | None = None
    store_contents: bool = True
    owner_mappings: tuple[OwnerMapping, ...] = ()


CORE_PEOPLE_MAPPINGS = (FieldMapping("FirstName", "first_name"),
                        FieldMapping("LastName", "last_name"), FieldMapping("Email", "email"))
LEAD_PEOPLE_MAPPINGS = (*CORE_PEOPLE_MAPPINGS, FieldMapping("Company", "account"))


def _default_salesforce_steps() -> tuple[Step, ...]:
    steps = [
        Step("Contacts to People", "salesforce.contacts", "app.people",
             field_mappings=CORE_PEOPLE_MAPPINGS),
        Step("Leads to People", "salesforce.leads", "app.people",
             field_mappings=LEAD_PEOPLE_MAPPINGS),
        Step("People to Contacts", "app.people", "salesforce.contacts",
             field_mappings=CORE_PEOPLE_MAPPINGS),
        Step("People to Leads", "app.people", "salesforce.leads",
             field_mappings=LEAD_PEOPLE_MAPPINGS),
        Step("People Statuses to Lead Statuses", "app.person_statuses",
             "salesforce.lead_statuses"),
        Step("Inbox Categories to Lead Statuses", "app.inbox_categories",
             "salesforce.lead_statuses"),
    ]
    for source, label in (("app.emails", "Emails"), ("app.tasks", "Tasks"),
                          ("app.calls", "Calls")):
        steps.append(Step(f"{label} to Lead Tasks", source, "salesforce.lead_tasks",
                          include_contents=True))
        steps.append(Step(f"{label} to Contact Tasks", source, "salesforce.contact_tasks",
                          include_contents=True))
    steps.append(Step("People Notes to Lead Notes", "app.notes", "salesforce.lead_notes",
                      include_contents=True))
    steps.append(Step("People Notes to Contact Notes", "app.notes",
                      "salesforce.contact_notes", include_contents=True))
    steps.append(Step("LinkedIn to Lead Tasks", "app.linkedin", "salesforce.lead_tasks",
                      include_contents=True))
    steps.append(Step("LinkedIn to Contact Tasks", "app.linkedin", "salesforce.contact_tasks",
                      include_contents=True))
    return tuple(steps)


PIPEDRIVE_PEOPLE_MAPPINGS = (FieldMapping("name", "name"), FieldMapping("email", "email"),
                             FieldMapping("phone", "phone"))

DEFAULT_STEPS: dict[str, tuple[Step, ...]] = {
    "salesforce": _default_salesforce_steps(),
    "pipedrive": (
        Step("Persons to People", "pipedrive.persons", "app.people",
             field_mappings=PIPEDRIVE_PEOPLE_MAPPINGS),
        Step("People to Persons", "app.people", "pipedrive.persons",
             field_mappings=PIPEDRIVE_PEOPLE_MAPPINGS),
    ),
}


def step_owner_mappings(step: Step, settings: IntegrationSettings) -> tuple[OwnerMapping, ...]:
    """A step's own list replaces the integration's ("save and apply for all steps")."""
    return step.owner_mappings if step.owner_mappings is not None else settings.owner_mappings


def step_owner_match(step: Step, settings: IntegrationSettings) -> str | None:
    return step.owner_match if step.owner_match is not None else settings.owner_match


