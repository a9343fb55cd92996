"""The checks a configuration passes before it is recorded, as pure functions over plain
values: what the CRM's describe says, which CRM users, team members, sequences, saved
filters and lists exist, all given as arguments. Each problem names its step and field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from syncledger.domain.field_types import (
    MULTIPLE_OPTIONS,
    CrmField,
    app_field_type,
    relationship_field,
    resolve_crm_field,
    type_mismatch,
)
from syncledger.domain.schedule import parse_every
from syncledger.domain.steps import (
    CONFLICT_POLICIES,
    CORE_PEOPLE_MAPPINGS,
    CRMS,
    DEFAULT_SAVED_FILTERS,
    DEFAULT_STEPS,
    FILTER_OPERATORS,
    LEAD_PEOPLE_MAPPINGS,
    OWNER_MATCHES,
    PIPEDRIVE_PEOPLE_MAPPINGS,
    PROFILES,
    Configuration,
    FieldMapping,
    IntegrationSettings,
    OwnerMapping,
    Step,
    is_activity_step,
    is_status_step,
    step_kinds,
    step_owner_mappings,
)

SWITCH_TO_CUSTOM = ("switch to the Custom profile to change it (`syncledger profile use "
                    "custom`, or profile = \"custom\" in the file)")

# -- what the checks look things up in ------------------------------------------------------
REQUIRED_MAPPINGS: dict[str, tuple[FieldMapping, ...]] = {
    "salesforce.contacts": CORE_PEOPLE_MAPPINGS,
    "salesforce.leads": LEAD_PEOPLE_MAPPINGS,
    "pipedrive.persons": tuple(m for m in PIPEDRIVE_PEOPLE_MAPPINGS if m.crm == "email"),
}
# A Contacts step may map the Account's Name: People → Contacts finds or creates the Account.
WRITABLE_RELATED = {("Contact", "Account.Name")}
OWNER_FIELDS = ("OwnerId", "owner_id")
DURATION = re.compile(r"^(\d+)([smhd])$")


@dataclass(frozen=True)
class CrmUser:
    id: str
    name: str = ""
    email: str | None = None
    active: bool = True


@dataclass(frozen=True)
class Known:
    """What exists, as the handler looked it up; `crm_users` None: not looked up."""
    objects: Mapping[str, Mapping[str, CrmField]] = field(default_factory=dict)
    crm_users: Mapping[str, CrmUser] | None = None
    team_members: frozenset[str] = frozenset()
    sequences: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    saved_filters: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()  # ids and names
    app_fields: Mapping[str, str] = field(default_factory=dict)  # custom field -> type seen


@dataclass(frozen=True)
class ConfigProblem:
    step: str | None  # None: the [integration] table
    field: str
    message: str

    def __str__(self) -> str:
        where = f"step {self.step!r}" if self.step is not None else "[integration]"
        return f"{where}, {self.field}: {self.message}"


@dataclass(frozen=True)
class Review:
    errors: tuple[ConfigProblem, ...]
    warnings: tuple[str, ...]


# -- what a configuration refers to (so the handler looks up only that) ---------------------
def crm_objects(config: Configuration) -> set[str]:
    """The CRM objects whose describe the checks read."""
    if config.profile == "default":
        return set()
    objects = set()
    for step in config.steps:
        if not _valid_kind(config.crm, step):
            continue
        if step.is_people and (step.field_mappings or step.filter):
            objects.add(step.crm_object)
        if is_status_step(step) and step.status_mappings:
            objects.add("Lead")
    return objects


def related_objects(config: Configuration,
                    objects: Mapping[str, Mapping[str, CrmField]]) -> set[str]:
    """The objects that relationship paths (`Account.Name`, `Owner.Email`) lead to."""
    related = set()
    for step in config.steps:
        if not _valid_kind(config.crm, step) or not step.is_people:
            continue
        fields = objects.get(step.crm_object, {})
        for name in _crm_names(step):
            if "." in name:
                reference = relationship_field(fields, name.split(".")[0])
                if reference is not None and len(reference.reference_to) == 1:
                    related.add(reference.reference_to[0])
    return related


def referenced_owners(config: Configuration) -> tuple[set[str], set[str]]:
    """(CRM user ids, team member ids) the configuration names."""
    pairs = list(config.settings.owner_mappings)
    members: set[str] = set()
    for step in config.steps:
        pairs.extend(step.owner_mappings or ())
        members.update(s.owner for s in step.sequence_mappings if s.owner != "*")
    return {p.crm for p in pairs}, members | {p.app for p in pairs}


def referenced_sequences(config: Configuration) -> set[str]:
    return {s.sequence for step in config.steps for s in step.sequence_mappings}


def referenced_filters(config: Configuration) -> tuple[set[str], set[str]]:
    """(saved filter names beyond the app's defaults, list ids or names)."""
    saved, lists = set(), set()
    for step in config.steps:
        if step.filter is None:
            continue
        if step.filter.saved and _default_saved(step.filter.saved) is None:
            saved.add(step.filter.saved)
        if step.filter.list:
            lists.add(step.filter.list)
    return saved, lists


def _crm_names(step: Step) -> list[str]:
    names = [m.crm for m in step.field_mappings]
    if step.filter is not None:
        names += [r.field for r in step.filter.rules]
    return names


# -- the checks ---------------------------------------------------------------------------
def check_configuration(config: Configuration, known: Known,
                        previous: Sequence[Step] = ()) -> Review:
    """Every problem of the configuration (errors refuse it whole) and its warnings.

    `previous`: the steps recorded before, to say which steps a rename starts afresh."""
    errors = _settings_problems(config)
    warnings: list[str] = []
    if config.profile == "default":
        errors += default_profile_problems(config.crm, config.steps, config.settings)
    elif config.profile == "custom":
        errors += _name_problems(config.steps)
        for step in config.steps:
            errors += _step_problems(config, step, known, warnings)
        errors += _integration_owner_problems(config, known)
        warnings += [f"step {old!r} was renamed {new!r}: a step's name is its identity, so "
                     f"{new!r} starts afresh (its cursor and outbound position start over)"
                     for old, new in renamed_steps(previous, config.steps)]
    warnings += _both_people_targets(config.steps)
    warnings += _inactive_owner_warnings(config, known)
    return Review(errors=tuple(errors), warnings=tuple(dict.fromkeys(warnings)))


def default_profile_problems(crm: str, steps: Sequence[Step],
                             settings: IntegrationSettings) -> list[ConfigProblem]:
    """The Default profile's steps can only be switched on and off."""
    fixed = {s.name: s for s in DEFAULT_STEPS.get(crm, ())}
    problems = []
    given = {s.name for s in steps}
    for step in steps:
        preset = fixed.get(step.name)
        if preset is None:
            problems.append(ConfigProblem(step.name, "name", "the Default profile's steps "
                                          f"cannot be added to or cloned; {SWITCH_TO_CUSTOM}"))
            continue
        for what, label in (("source", "direction"), ("target", "direction"),
                            ("field_mappings", "field mappings"), ("filter", "filtering rules"),
                            ("owner_mappings", "ownership mappings"),
                            ("owner_match", "owner matching"),
                            ("sequence_mappings", "sequence mappings"),
                            ("status_mappings", "status mappings"),
                            ("include_contents", "message contents switch")):
            if getattr(step, what) != getattr(preset, what):
                key = {"source": "from", "target": "to"}.get(what, what)
                problems.append(ConfigProblem(step.name, key, f"the Default profile's {label} "
                                              f"cannot be changed; {SWITCH_TO_CUSTOM}"))
                break
    for name in fixed:
        if name not in given:
            problems.append(ConfigProblem(name, "steps", "the Default profile's steps cannot "
                                          f"be removed (switch it off instead); "
                                          f"{SWITCH_TO_CUSTOM}"))
    if settings.owner_mappings:
        problems.append(ConfigProblem(None, "owner_mappings", "the Default profile has no "
                                      f"ownership mappings; {SWITCH_TO_CUSTOM}"))
    return problems


def _settings_problems(config: Configuration) -> list[ConfigProblem]:
    settings = config.settings
    problems = []

    def bad(name: str, message: str) -> None:
        problems.append(ConfigProblem(None, name, message))

    if config.crm not in CRMS:
        bad("crm", f"unknown CRM {config.crm!r}: expected {' or '.join(CRMS)}")
    if config.profile not in PROFILES:
        bad("profile", f"unknown profile {config.profile!r}: expected default or custom")
    if settings.conflict not in CONFLICT_POLICIES:
        bad("conflict", _expected(settings.conflict, CONFLICT_POLICIES))
    if settings.owner_match is not None and settings.owner_match not in OWNER_MATCHES:
        bad("owner_match", _expected(settings.owner_match, OWNER_MATCHES))
    try:
        parse_every(settings.every)
    except ValueError as error:
        bad("every", str(error))
    if DURATION.match(settings.overlap) is None:
        bad("overlap", f"{settings.overlap!r} is not a duration such as 5m")
    if not 0 < settings.api_budget <= 1:
        bad("api_budget", f"{settings.api_budget} is not a share of the daily API limit "
                          "(more than 0, at most 1)")
    if not 0 <= settings.mass_change_limit <= 1:
        bad("mass_change_limit", f"{settings.mass_change_limit} is not a share of a step's "
                                 "linked records (at least 0, at most 1)")
    return problems


def _name_problems(steps: Sequence[Step]) -> list[ConfigProblem]:
    problems, seen = [], set()
    for index, step in enumerate(steps):
        if not step.name.strip() or step.name != step.name.strip():
            problems.append(ConfigProblem(step.name, f"steps[{index}].name", "a step needs a "
                                          "name without leading or trailing spaces"))
        key = step.name.casefold()
        if key in seen:
            problems.append(ConfigProblem(step.name, "name", "two steps have this name; a "
                                          "step's name is its identity, so names are unique"))
        seen.add(key)
    return problems


def _valid_kind(crm: str, step: Step) -> bool:
    return (step.source, step.target) in step_kinds(crm)


def _kind_problem(crm: str, step: Step) -> ConfigProblem:
    kinds = step_kinds(crm)
    sources = sorted({s for s, _ in kinds})
    if step.source not in sources:
        return ConfigProblem(step.name, "from", f"{step.source!r} is not a source of {crm} "
                             f"steps; sources: {', '.join(sources)}")
    targets = [t for s, t in kinds if s == step.source]
    return ConfigProblem(step.name, "to", f"{step.source} cannot flow to {step.target!r}; it "
                         f"flows to {', '.join(targets)}")


def _step_problems(config: Configuration, step: Step, known: Known,
                   warnings: list[str]) -> list[ConfigProblem]:
    if not _valid_kind(config.crm, step):
        return [_kind_problem(config.crm, step)]
    problems: list[ConfigProblem] = []

    def bad(where: str, message: str) -> None:
        problems.append(ConfigProblem(step.name, where, message))

    if step.is_people:
        problems += _mapping_problems(config.crm, step, known, warnings)
    elif step.field_mappings:
        bad("field_mappings", "field mappings belong to people steps; this step's fields "
                              "are fixed")
    if step.filter is not None:
        problems += _filter_problems(config, step, known)
    if step.owner_mappings is not None and not step.is_people:
        bad("owner_mappings", "ownership mappings belong to people steps")
    if step.owner_match is not None and step.owner_match not in OWNER_MATCHES:
        bad("owner_match", _expected(step.owner_match, OWNER_MATCHES))
    if step.is_people and step.owner_mappings:
        problems += _owner_problems(step, step.owner_mappings, "owner_mappings", known)
    problems += _sequence_problems(config, step, known)
    if step.status_mappings and not is_status_step(step):
        bad("status_mappings", "status mappings belong to status steps "
                               "(app.person_statuses or app.inbox_categories)")
    elif step.status_mappings:
        problems += _status_problems(step, known)
    if step.include_contents and not is_activity_step(step):
        bad("include_contents", "message contents belong to activity and note steps")
    return problems


# -- field mappings -----------------------------------------------------------------------
def _mapping_problems(crm: str, step: Step, known: Known,
                      warnings: list[str]) -> list[ConfigProblem]:
    problems = []

    def bad(where: str, message: str) -> None:
        problems.append(ConfigProblem(step.name, where, message))

    pairs = {(m.crm, m.app) for m in step.field_mappings}
    missing = [f"{m.crm} → {m.app}" for m in REQUIRED_MAPPINGS[step.crm_kind]
               if (m.crm, m.app) not in pairs]
    if missing:
        bad("field_mappings", f"required mappings missing: {', '.join(missing)}")
    fields = known.objects.get(step.crm_object)
    # A source field may feed several targets; a target field takes one source.
    target_side = "app" if step.inbound else "crm"
    seen: set[str] = set()
    for index, mapping in enumerate(step.field_mappings):
        where = f"field_mappings[{index}]"
        target = getattr(mapping, target_side)
        if target in seen:
            bad(f"{where}.{target_side}", f"{target} is mapped twice as this step's target")
        seen.add(target)
        if mapping.conflict is not None and mapping.conflict not in CONFLICT_POLICIES:
            bad(f"{where}.conflict", _expected(mapping.conflict, CONFLICT_POLICIES))
        app_type, app_problem = app_field_type(mapping.app, known.app_fields)
        if app_problem:
            bad(f"{where}.app", app_problem)
        if fields is None:
            continue
        crm_field, crm_problem = resolve_crm_field(step.crm_object, mapping.crm, fields,
                                                   known.objects)
        if crm_problem or crm_field is None:
            bad(f"{where}.crm", crm_problem or f"unknown field {mapping.crm}")
            continue
        if crm_field.type == MULTIPLE_OPTIONS:
            bad(f"{where}.crm", f"{mapping.crm} is a multi-select picklist; the app has no "
                                "multi-select fields, so it cannot be mapped")
            continue
        related = "." in mapping.crm
        if not step.inbound:
            if related and (step.crm_object, mapping.crm) not in WRITABLE_RELATED:
                bad(f"{where}.crm", f"{mapping.crm} is a field of a related record, which "
                                    "an outbound step cannot write")
                continue
            if not related and not crm_field.writable:
                bad(f"{where}.crm", f"{step.crm_object}.{mapping.crm} is read-only "
                                    "(neither createable nor updateable), so an outbound "
                                    "step cannot write it")
                continue
            if not related and not (crm_field.createable and crm_field.updateable):
                when = "on create only" if crm_field.createable else "on update only"
                warnings.append(f"step {step.name!r}: {step.crm_object}.{mapping.crm} can "
                                f"be written {when}")
        if app_type is not None:
            mismatch = type_mismatch(app_type, crm_field, step.inbound)
            if mismatch is not None:
                bad(f"{where}.crm", f"type mismatch: {step.crm_object}.{mapping.crm} is "
                                    f"{crm_field.type}, the app's {mapping.app} is {app_type}"
                                    f"{mismatch}")
    return problems


# -- filters ------------------------------------------------------------------------------
def _filter_problems(config: Configuration, step: Step, known: Known) -> list[ConfigProblem]:
    assert step.filter is not None
    rule_filter = step.filter
    problems = []

    def bad(where: str, message: str) -> None:
        problems.append(ConfigProblem(step.name, where, message))

    if step.inbound:
        if rule_filter.saved or rule_filter.list:
            bad("filter", "saved filters and lists select app people: they filter outbound "
                          "steps; an inbound step filters with rules on CRM fields")
        fields = known.objects.get(step.crm_object)
        pairs = step_owner_mappings(step, config.settings) if step.is_people else ()
        for index, rule in enumerate(rule_filter.rules):
            where = f"filter.rules[{index}]"
            if rule.op not in FILTER_OPERATORS:
                bad(f"{where}.op", _expected(rule.op, FILTER_OPERATORS))
            elif rule.op == "in" and not isinstance(rule.value, tuple | list):
                bad(f"{where}.value", "the in operator takes a list of values")
            elif rule.op not in ("in", "is_empty") and isinstance(rule.value, tuple | list):
                bad(f"{where}.value", f"the {rule.op} operator takes one value")
            if pairs and (rule.field in OWNER_FIELDS or rule.field.startswith("Owner.")):
                bad(f"{where}.field", f"a filter on {rule.field} contradicts the step's "
                                      "ownership mappings, which already choose the owners "
                                      "synced; remove one of them")
            if fields is not None:
                _, problem = resolve_crm_field(step.crm_object, rule.field, fields,
                                               known.objects)
                if problem:
                    bad(f"{where}.field", problem)
        return problems
    if rule_filter.rules:
        bad("filter.rules", "rules on CRM fields filter inbound steps; an outbound step "
                            "filters app people with saved = \"...\" or list = \"...\"")
    if rule_filter.saved and _default_saved(rule_filter.saved) is None \
            and rule_filter.saved not in known.saved_filters:
        close = [d for d in DEFAULT_SAVED_FILTERS
                 if d.casefold() == rule_filter.saved.casefold()]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        bad("filter.saved", f"no saved filter {rule_filter.saved!r}{hint}: expected "
                            f"{', '.join(DEFAULT_SAVED_FILTERS)} or a saved app filter")
    if rule_filter.list and rule_filter.list not in known.lists:
        bad("filter.list", f"no app list with the id or name {rule_filter.list!r}")
    if not (rule_filter.saved or rule_filter.list or rule_filter.rules):
        bad("filter", "an empty filter: leave it out to sync every record")
    return problems


def _default_saved(name: str) -> str | None:
    return name if name in DEFAULT_SAVED_FILTERS else None


# -- ownership ----------------------------------------------------------------------------
def _owner_problems(step: Step, pairs: Sequence[OwnerMapping], where: str,
                    known: Known) -> list[ConfigProblem]:
    return _duplicate_owners(step, pairs, where) + _owners_exist(step.name, pairs, where, known)


def _duplicate_owners(step: Step, pairs: Sequence[OwnerMapping],
                      where: str) -> list[ConfigProblem]:
    """A source-side owner at most once in the step's reading; the target side may repeat."""
    problems = []
    side, label = ("crm", "CRM user") if step.inbound else ("app", "team member")
    seen: set[str] = set()
    for index, pair in enumerate(pairs):
        owner = getattr(pair, side)
        if owner in seen:
            problems.append(ConfigProblem(
                step.name, f"{where}[{index}].{side}", f"the {label} {owner} is mapped twice: "
                f"on the source side of this {'inbound' if step.inbound else 'outbound'} step "
                "each owner maps once (the target side may repeat)"))
        seen.add(owner)
    return problems


def _owners_exist(step: str | None, pairs: Sequence[OwnerMapping], where: str,
                  known: Known) -> list[ConfigProblem]:
    problems = []
    users = _user_ids(known)
    for index, pair in enumerate(pairs):
        if users is not None and pair.crm not in users:
            problems.append(ConfigProblem(step, f"{where}[{index}].crm",
                                          f"no CRM user {pair.crm} in the connected org"))
        if pair.app not in known.team_members:
            problems.append(ConfigProblem(step, f"{where}[{index}].app",
                                          f"no team member {pair.app} in the imported app data"))
    return problems


def _user_ids(known: Known) -> set[str] | None:
    if known.crm_users is None:
        return None
    ids = set(known.crm_users)
    # Salesforce accepts an id in its 15-character form as well as the 18-character one.
    ids.update(i[:15] for i in known.crm_users if len(i) == 18)
    return ids


def _integration_owner_problems(config: Configuration, known: Known) -> list[ConfigProblem]:
    pairs = config.settings.owner_mappings
    if not pairs:
        return []
    problems = _owners_exist(None, pairs, "owner_mappings", known)
    for step in config.steps:
        if step.is_people and step.owner_mappings is None and _valid_kind(config.crm, step):
            # "save and apply for all steps": the list is read in each step's direction
            problems += [replace(p, field=f"{p.field} (of [integration])")
                         for p in _duplicate_owners(step, pairs, "owner_mappings")]
    return problems


def _inactive_owner_warnings(config: Configuration, known: Known) -> list[str]:
    if not known.crm_users:
        return []
    pairs = list(config.settings.owner_mappings)
    for step in config.steps:
        pairs.extend(step.owner_mappings or ())
    users = {**known.crm_users, **{i[:15]: u for i, u in known.crm_users.items()}}
    return [f"CRM user {p.crm} ({users[p.crm].name}) is inactive: the CRM refuses to give "
            "it records" for p in pairs if p.crm in users and not users[p.crm].active]


# -- people to sequence -------------------------------------------------------------------
def _sequence_problems(config: Configuration, step: Step,
                       known: Known) -> list[ConfigProblem]:
    if not step.sequence_mappings:
        return []
    if not (step.is_people and step.inbound):
        return [ConfigProblem(step.name, "sequence_mappings", "people go to a sequence only "
                              "from an inbound people step (CRM → app.people)")]
    problems = []
    pairs = step_owner_mappings(step, config.settings)
    paired = {p.app for p in pairs}
    seen: set[str] = set()
    for index, mapping in enumerate(step.sequence_mappings):
        where = f"sequence_mappings[{index}]"

        def bad(what: str, message: str, where: str = where) -> None:
            problems.append(ConfigProblem(step.name, f"{where}.{what}", message))

        if mapping.owner in seen or (mapping.owner == "*" and seen) or "*" in seen:
            bad("owner", f"{mapping.owner} would get two sequences in this step: one "
                         "sequence per team member per step (clone the step with another "
                         "filter to route to a second sequence)")
        seen.add(mapping.owner)
        if mapping.owner == "*":
            if pairs:
                bad("owner", "\"*\" (everyone) fits a step without ownership mappings; this "
                             "step's people belong to its mapped owners: name them")
        elif pairs and mapping.owner not in paired:
            bad("owner", f"{mapping.owner} is not among this step's ownership mappings, so "
                         "no people would be synced for them to route")
        if mapping.owner != "*" and mapping.owner not in known.team_members:
            bad("owner", f"no team member {mapping.owner} in the imported app data")
        steps = known.sequences.get(mapping.sequence)
        if steps is None:
            bad("sequence", f"no sequence {mapping.sequence} in the imported app data")
        elif mapping.step not in steps:
            have = ", ".join(map(str, steps)) or "none"
            bad("step", f"sequence {mapping.sequence} has no step {mapping.step} "
                        f"(its steps: {have})")
    return problems


# -- statuses -----------------------------------------------------------------------------
def _status_problems(step: Step, known: Known) -> list[ConfigProblem]:
    problems = []
    lead = known.objects.get("Lead")
    status = lead.get("Status") if lead else None
    seen: set[str] = set()
    for index, mapping in enumerate(step.status_mappings):
        if mapping.app in seen:
            problems.append(ConfigProblem(step.name, f"status_mappings[{index}].app",
                                          f"{mapping.app} is mapped twice in this step"))
        seen.add(mapping.app)
        if status is not None and mapping.crm not in status.picklist:
            problems.append(ConfigProblem(
                step.name, f"status_mappings[{index}].crm",
                f"{mapping.crm!r} is not a Lead Status of the org "
                f"({', '.join(status.picklist) or 'none'})"))
    return problems


# -- warnings -----------------------------------------------------------------------------
def _both_people_targets(steps: Sequence[Step]) -> list[str]:
    contacts = [s.name for s in steps if s.enabled and s.target == "salesforce.contacts"]
    leads = [s.name for s in steps if s.enabled and s.target == "salesforce.leads"]
    if not (contacts and leads):
        return []
    return [f"{contacts[0]!r} and {leads[0]!r} are both on: syncledger writes each person to "
            "one record only: a person linked or matched by email to a Contact or a Lead "
            "updates that record, and a new person becomes a Lead (never a Lead and a "
            "Contact)"]


def renamed_steps(previous: Sequence[Step], steps: Sequence[Step]) -> list[tuple[str, str]]:
    """(old, new) names of steps that look renamed: one step of a kind went, one came."""
    before = {s.name for s in previous}
    after = {s.name for s in steps}
    gone = [s for s in previous if s.name not in after]
    came = [s for s in steps if s.name not in before]
    renamed = []
    for new in came:
        same_kind = [old for old in gone if (old.source, old.target) == (new.source, new.target)]
        others = [s for s in came if (s.source, s.target) == (new.source, new.target)]
        if len(same_kind) == 1 and len(others) == 1:
            renamed.append((same_kind[0].name, new.name))
    return renamed


def _expected(value: Any, choices: Sequence[str]) -> str:
    return f"{value!r} is not one of {', '.join(choices)}"


def default_configuration(crm: str, settings: IntegrationSettings,
                          switched_off: Iterable[str] = ()) -> Configuration:
    off = set(switched_off)
    steps = tuple(replace(s, enabled=s.name not in off) for s in DEFAULT_STEPS[crm])
    return Configuration(crm=crm, profile="default", settings=settings, steps=steps)
