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
    # The share of a step's linked records whose OwnerId a run may change, or whose filled
    # fields it may blank, without `sync --allow-mass-changes` (DESIGN: never damage a CRM).
    mass_change_limit: float = 0.1


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


# Pipedrive's `name` is composed from the first and last names by the adapter when a step
# does not map it (a person must have one).
PIPEDRIVE_PEOPLE_MAPPINGS = (FieldMapping("first_name", "first_name"),
                             FieldMapping("last_name", "last_name"),
                             FieldMapping("email", "email"), FieldMapping("phone", "phone"))

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


def read_fields(step: Step) -> list[str]:
    """The CRM fields an inbound people step reads of each record: the mapped and the
    filtered ones (the adapter adds what it needs itself)."""
    return [m.crm for m in step.field_mappings] + [
        rule.field for rule in (step.filter.rules if step.filter else ())]




# -- step kinds ---------------------------------------------------------------------------
APP_PEOPLE = "app.people"
STATUS_TARGET = "salesforce.lead_statuses"
STATUS_STREAM = "Lead"  # the stream whose Status the status steps write
STATUS_FIELD = "Status"
FILTER_OPERATORS = ("eq", "ne", "contains", "starts_with", "ends_with", "in", "is_empty")
# The app's own saved filters ("Load filter" in the seeds); a saved app filter by name too.
DEFAULT_SAVED_FILTERS = ("Opened", "Replied", "Bounced", "Opted out", "To call", "Clicked")
OWNER_MATCHES = ("email",)
PROFILES = ("default", "custom")
CRMS = ("salesforce", "pipedrive")
# The CRM a caller naming none means: the first supported, the only one before Pipedrive.
FIRST_CRM = CRMS[0]
# What the people a CRM's people steps sync are called there, in words.
PEOPLE_RECORDS = {"salesforce": "Contacts and Leads", "pipedrive": "persons"}


def step_kinds(crm: str) -> list[tuple[str, str]]:
    """Every (from, to) pair a step of this CRM may have."""
    people = [k for k in PEOPLE_CRM_KINDS if k.startswith(f"{crm}.")]
    pairs = [(kind, APP_PEOPLE) for kind in people] + [(APP_PEOPLE, kind) for kind in people]
    if crm == "salesforce":
        pairs += [(source, STATUS_TARGET) for source in STATUS_SOURCES]
        pairs += [(s, t) for s in ACTIVITY_SOURCES for t in TASK_TARGETS]
        pairs += [(s, t) for s in NOTE_SOURCES for t in NOTE_TARGETS]
    return pairs


def is_status_step(step: Step) -> bool:
    return step.source in STATUS_SOURCES


def is_activity_step(step: Step) -> bool:
    return step.source in ACTIVITY_SOURCES or step.source in NOTE_SOURCES


# -- a whole configuration, and its plain (JSON and event) form ---------------------------
@dataclass(frozen=True)
class Configuration:
    crm: str
    profile: str
    settings: IntegrationSettings
    steps: tuple[Step, ...]
    # False when the file said nothing of `enabled`: the integration stays as it is, on or
    # off (a file is about the configuration; switching is `enable` and `disable`'s).
    enabled_given: bool = True


def _owner_pairs(pairs: tuple[OwnerMapping, ...] | None) -> list[dict[str, str]] | None:
    return None if pairs is None else [{"crm": p.crm, "app": p.app} for p in pairs]


def step_to_plain(step: Step) -> dict[str, Any]:
    """The step as the configuration file spells it, every key present."""
    rule_filter = None
    if step.filter is not None:
        rule_filter = {"rules": [{"field": r.field, "op": r.op, "value": r.value}
                                 for r in step.filter.rules],
                       "saved": step.filter.saved, "list": step.filter.list}
    return {
        "name": step.name, "from": step.source, "to": step.target, "enabled": step.enabled,
        "field_mappings": [{"crm": m.crm, "app": m.app, "conflict": m.conflict}
                           for m in step.field_mappings],
        "filter": rule_filter,
        "owner_mappings": _owner_pairs(step.owner_mappings),
        "owner_match": step.owner_match,
        "sequence_mappings": [{"owner": s.owner, "sequence": s.sequence, "step": s.step,
                               "ignore_step_delay": s.ignore_step_delay,
                               "only_new_records": s.only_new_records}
                              for s in step.sequence_mappings],
        "status_mappings": [{"app": s.app, "crm": s.crm} for s in step.status_mappings],
        "include_contents": step.include_contents,
    }


def step_from_plain(plain: dict[str, Any]) -> Step:
    raw_filter = plain.get("filter")
    step_filter = None
    if raw_filter is not None:
        step_filter = StepFilter(
            rules=tuple(FilterRule(r["field"], r["op"], _frozen(r.get("value")))
                        for r in raw_filter.get("rules") or ()),
            saved=raw_filter.get("saved"), list=raw_filter.get("list"))
    owners = plain.get("owner_mappings")
    return Step(
        name=plain["name"], source=plain["from"], target=plain["to"],
        enabled=bool(plain.get("enabled", True)),
        field_mappings=tuple(FieldMapping(m["crm"], m["app"], m.get("conflict"))
                             for m in plain.get("field_mappings") or ()),
        filter=step_filter,
        owner_mappings=None if owners is None else tuple(OwnerMapping(o["crm"], o["app"])
                                                         for o in owners),
        owner_match=plain.get("owner_match"),
        sequence_mappings=tuple(
            SequenceMapping(s["owner"], s["sequence"], int(s.get("step", 1)),
                            bool(s.get("ignore_step_delay", False)),
                            bool(s.get("only_new_records", False)))
            for s in plain.get("sequence_mappings") or ()),
        status_mappings=tuple(StatusMapping(s["app"], s["crm"])
                              for s in plain.get("status_mappings") or ()),
        include_contents=bool(plain.get("include_contents", False)),
    )


def _frozen(value: Any) -> Any:
    """Rule values stay hashable and comparable: an `in` list becomes a tuple."""
    return tuple(value) if isinstance(value, list) else value


SETTING_NAMES = ("every", "overlap", "timezone", "conflict", "api_budget", "owner_match",
                 "store_contents", "owner_mappings", "mass_change_limit")


def settings_to_plain(settings: IntegrationSettings) -> dict[str, Any]:
    """The `[integration]` keys other than crm and enabled, every key present."""
    return {"every": settings.every, "overlap": settings.overlap,
            "timezone": settings.timezone, "conflict": settings.conflict,
            "api_budget": settings.api_budget, "owner_match": settings.owner_match,
            "store_contents": settings.store_contents,
            "owner_mappings": _owner_pairs(settings.owner_mappings) or [],
            "mass_change_limit": settings.mass_change_limit}


def settings_from_plain(plain: dict[str, Any], enabled: bool = False) -> IntegrationSettings:
    defaults = IntegrationSettings()
    return IntegrationSettings(
        enabled=enabled, every=plain.get("every", defaults.every),
        overlap=plain.get("overlap", defaults.overlap),
        timezone=plain.get("timezone", defaults.timezone),
        conflict=plain.get("conflict", defaults.conflict),
        api_budget=float(plain.get("api_budget", defaults.api_budget)),
        owner_match=plain.get("owner_match", defaults.owner_match),
        store_contents=bool(plain.get("store_contents", defaults.store_contents)),
        mass_change_limit=float(plain.get("mass_change_limit", defaults.mass_change_limit)),
        owner_mappings=tuple(OwnerMapping(o["crm"], o["app"])
                             for o in plain.get("owner_mappings") or ()))
