"""Configuring an integration: apply a configuration (checked whole against the CRM and the
app data, then only its differences recorded), show it, start one, choose the profile,
switch the integration and its steps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar
from uuid import uuid4

from sqlalchemy import select

from syncledger.adapters.aggregate_cache import AggregateCache
from syncledger.adapters.credentials import CredentialsError
from syncledger.adapters.crm_connections import catalog_for
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.kill_points import kill_point
from syncledger.commands.config_file import configuration_toml
from syncledger.commands.connect import integration_of
from syncledger.commands.session import caught_up
from syncledger.domain.app_records import Sequence
from syncledger.domain.config_rules import (
    ConfigProblem,
    CrmUser,
    Known,
    check_configuration,
    crm_objects,
    referenced_filters,
    referenced_owners,
    referenced_sequences,
    related_objects,
)
from syncledger.domain.context import SYSTEM_ACTOR, Context
from syncledger.domain.field_types import CrmField, infer_app_type
from syncledger.domain.ids import (
    integration_id,
    person_list_id,
    saved_filter_id,
    sequence_id,
    team_member_id,
)
from syncledger.domain.integration import Integration
from syncledger.domain.steps import CRMS, DEFAULT_STEPS, Configuration, IntegrationSettings
from syncledger.projections.directory import entries
from syncledger.projections.registry import DIRECTORY, PEOPLE

T = TypeVar("T")


class ConfigRejected(ValueError):
    """Every problem of a refused configuration, one a line, each naming the file."""

    def __init__(self, source: str, problems: Iterable[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"{source}: {problem}" for problem in self.problems))


class NotConnected(ValueError):
    pass


class CrmNotChosen(NotConnected):
    """No --crm where two are connected, or a --crm that names no CRM: a usage mistake."""


class CrmCatalog(Protocol):
    def objects(self) -> tuple[str, ...]: ...

    def fields(self, stream: str) -> dict[str, CrmField]: ...

    def users(self) -> dict[str, CrmUser]: ...


@dataclass(frozen=True)
class Applied:
    crm: str
    cause: str
    changes: list[str]
    warnings: list[str]


def new_context(actor: str) -> Context:
    return Context(cause=f"config:{uuid4().hex[:12]}", actor=actor)


# -- which integration --------------------------------------------------------------------
def existing_integration(app: SyncLedger, crm: str) -> Integration | None:
    return AggregateCache(app).get(integration_id(crm), Integration)


def connected_crms(app: SyncLedger) -> list[str]:
    return [c for c in CRMS if (i := existing_integration(app, c)) and i.connected]


def enabled_crms(app: SyncLedger) -> list[str]:
    """The connected integrations that are switched on: what a sync with no --crm runs."""
    return [c for c in CRMS if (i := existing_integration(app, c)) and i.connected
            and i.enabled]


def _named(crm: str) -> str:
    if crm not in CRMS:
        raise CrmNotChosen(f"--crm {crm}: expected {' or '.join(CRMS)}")
    return crm


def chosen_crm(app: SyncLedger, crm: str | None) -> str:
    """For a command about one integration: the CRM named, else the one connected; none
    connected: the one configured (else Salesforce); two connected: say which."""
    if crm is not None:
        return _named(crm)
    connected = connected_crms(app)
    if len(connected) > 1:
        raise CrmNotChosen(f"{' and '.join(connected)} are both connected: pass --crm NAME")
    if connected:
        return connected[0]
    configured = [c for c in CRMS if existing_integration(app, c) is not None]
    return configured[0] if len(configured) == 1 else CRMS[0]


def crms_in_scope(app: SyncLedger, crm: str | None) -> list[str]:
    """For a command that can speak of every integration (status, sync): the CRM named,
    else the one connected, else (none or two connected) all of them."""
    if crm is not None:
        return [_named(crm)]
    connected = connected_crms(app)
    return connected if len(connected) == 1 else list(CRMS)


def crm_catalog(app: SyncLedger, crm: str) -> CrmCatalog:
    """The CRM's fields and users through the stored connection."""
    integration = existing_integration(app, crm)
    if integration is None or not integration.connected:
        raise NotConnected(f"{crm} is not connected, and this needs its fields and users: "
                           f"run `syncledger connect {crm}` first")
    try:
        return catalog_for(app.database, integration)
    except CredentialsError as error:
        raise NotConnected(str(error)) from None


# -- apply --------------------------------------------------------------------------------
def apply_configuration(app: SyncLedger, config: Configuration, actor: str,
                        source: str) -> Applied:
    """Check the whole configuration, then record only what differs: all or nothing."""
    current = existing_integration(app, config.crm)
    previous = list(current.custom_steps.values()) if current else []
    review = check_configuration(config, known_for(app, config), previous)
    if review.errors:
        raise ConfigRejected(source, review.errors)
    ctx = new_context(actor)

    def record() -> list[str]:
        integration = integration_of(app, config.crm, ctx)
        changes = integration.apply_configuration(config, review.warnings, ctx)
        if integration.pending_events:
            kill_point("config.decided")
            app.save(integration)
        return changes

    changes = app.decide(record)
    kill_point("config.applied")
    return Applied(config.crm, ctx.cause, changes, list(review.warnings))


def known_for(app: SyncLedger, config: Configuration) -> Known:
    """Look up what the configuration refers to, and only that."""
    objects = crm_objects(config)
    crm_users, members = referenced_owners(config)
    described: dict[str, dict[str, CrmField]] = {}
    users = None
    if objects or crm_users:
        catalog = crm_catalog(app, config.crm)
        described = {o: catalog.fields(o) for o in sorted(objects)}
        for stream in sorted(related_objects(config, described) - set(described)):
            described[stream] = catalog.fields(stream)
        users = catalog.users() if crm_users else None
    saved, lists = referenced_filters(config)
    cache = AggregateCache(app)
    return Known(
        objects=described, crm_users=users,
        team_members=frozenset(m for m in members if cache.exists(team_member_id(m))),
        sequences={s: _sequence_steps(found) for s in referenced_sequences(config)
                   if (found := cache.get(sequence_id(s), Sequence)) is not None},
        saved_filters=frozenset(s for s in saved if cache.exists(saved_filter_id(s))),
        lists=_known_lists(app, cache, lists),
        app_fields=custom_person_fields(app))


def _sequence_steps(sequence: Sequence) -> tuple[int, ...]:
    return tuple(int(s["number"]) for s in sequence.attributes.get("steps") or ())


def _known_lists(app: SyncLedger, cache: AggregateCache, wanted: set[str]) -> frozenset[str]:
    """Lists are named by id or by name; a name is looked up in the directory view."""
    found = {w for w in wanted if cache.exists(person_list_id(w))}
    if found == wanted:
        return frozenset(found)
    with caught_up(app).database.reader.connect() as connection:
        lists = entries(connection, DIRECTORY.tables["directory"], "list")
    names = {str(attributes.get("name")) for attributes in lists.values()}
    return frozenset(found | (wanted & names))


def custom_person_fields(app: SyncLedger) -> dict[str, str]:
    """Each key of the people's `fields`, with the type of the values it holds."""
    values: dict[str, list[Any]] = {}
    table = PEOPLE.tables["people"]
    with caught_up(app).database.reader.connect() as connection:
        for (fields,) in connection.execute(select(table.c.fields)):
            for key, value in (fields or {}).items():
                values.setdefault(key, []).append(value)
    return {key: infer_app_type(found) for key, found in sorted(values.items())}


# -- show and start -----------------------------------------------------------------------
def current_configuration(app: SyncLedger, crm: str) -> Configuration:
    integration = existing_integration(app, crm)
    if integration is None:
        integration = Integration.start(crm, Context(cause="config:show"))
    return integration.configuration()


def starting_configuration(app: SyncLedger, crm: str, actor: str) -> str:
    """A Custom configuration to start from: the Default profile's steps, as switched, with
    the vendors' pre-set owner pair (the connected CRM user and you) commented out."""
    integration = existing_integration(app, crm)
    settings = integration.settings if integration else IntegrationSettings()
    switched_off = integration.disabled_steps if integration else set()
    steps = tuple(replace(s, enabled=s.name not in switched_off) for s in DEFAULT_STEPS[crm])
    config = Configuration(crm=crm, profile="custom", settings=settings, steps=steps)
    crm_user = (integration.connected_user if integration else None) or "CRM_USER_ID"
    member = actor if actor != SYSTEM_ACTOR else "TEAM_MEMBER_ID"
    header = (f"syncledger: a Custom profile configuration for {crm}, starting from the "
              "Default profile's steps.\n"
              "Check and record it with `syncledger config apply FILE` (all or nothing); "
              "`syncledger fields` lists\nthe fields a mapping can name. A step's name is "
              "its identity: renaming a step starts it afresh.\n")
    return configuration_toml(config, owner_pair=(crm_user, member), header=header)


# -- switches -----------------------------------------------------------------------------
def change_integration(app: SyncLedger, crm: str, actor: str,
                       decide: Callable[[Integration, Context], T]) -> T:
    """Load (or start) the integration, let it decide, save what it recorded."""
    ctx = new_context(actor)

    def record() -> T:
        integration = integration_of(app, crm, ctx)
        result = decide(integration, ctx)
        if integration.pending_events:
            app.save(integration)
        return result

    return app.decide(record)


def use_profile(app: SyncLedger, crm: str, profile: str, actor: str) -> None:
    change_integration(app, crm, actor, lambda i, ctx: i.use_profile(profile, ctx))


def switch_integration(app: SyncLedger, crm: str, enabled: bool, actor: str) -> bool:
    """Returns whether the integration is connected (enabled but not connected syncs nothing)."""
    def decide(integration: Integration, ctx: Context) -> bool:
        integration.switch(enabled, ctx)
        return integration.connected

    return change_integration(app, crm, actor, decide)


def switch_step(app: SyncLedger, crm: str, step: str, enabled: bool, actor: str) -> str:
    """Returns the profile the step was switched under."""
    def decide(integration: Integration, ctx: Context) -> str:
        integration.switch_step(step, enabled, ctx)
        return integration.profile

    return change_integration(app, crm, actor, decide)
