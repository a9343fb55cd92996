"""The integration with one CRM: connection facts (never a secret), profile, switches.

The configuration commands (steps, mappings, filters) grow on this aggregate."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from syncledger.domain.context import Context
from syncledger.domain.ids import integration_id
from syncledger.domain.steps import DEFAULT_STEPS, IntegrationSettings, Step

PROFILES = ("default", "custom")


class IntegrationError(ValueError):
    pass


class Integration(Aggregate):
    @staticmethod
    def create_id(crm: str, **_: Any) -> UUID:
        return integration_id(crm)

    @classmethod
    def start(cls, crm: str, ctx: Context) -> Integration:
        return cls(crm=crm, cause=ctx.cause, actor=ctx.actor)

    @event("Created")
    def __init__(self, crm: str, cause: str, actor: str) -> None:
        self.crm = crm
        self.org_id: str | None = None
        self.environment: str | None = None
        self.instance_url: str | None = None
        self.connected_user: str | None = None
        self.missing_keys: list[str] = []
        self.connected = False
        self.profile = "default"
        self.enabled = False
        self.disabled_steps: set[str] = set()
        self.settings = IntegrationSettings()
        self.custom_steps: dict[str, Step] = {}

    def steps(self) -> list[Step]:
        """The steps in force: the Default profile's fixed ones, or the Custom ones; each
        with its on/off switch applied."""
        if self.profile == "default":
            chosen = list(DEFAULT_STEPS[self.crm])
        else:
            chosen = list(self.custom_steps.values())
        return [s if s.name not in self.disabled_steps else _switched_off(s) for s in chosen]

    def connect(self, org_id: str, environment: str, instance_url: str,
                connected_user: str | None, missing_keys: list[str], ctx: Context) -> bool:
        """Returns True when this org differs from the one linked before (fresh links).

        `missing_keys`: the objects whose Syncledger_Key__c external id field is missing
        (their writes fall back to natural keys)."""
        facts = (org_id, environment, instance_url, connected_user, sorted(missing_keys))
        if self.connected and facts == (self.org_id, self.environment, self.instance_url,
                                        self.connected_user, self.missing_keys):
            return False
        other_org = self.org_id is not None and self.org_id != org_id
        self._connected(org_id=org_id, environment=environment, instance_url=instance_url,
                        connected_user=connected_user, missing_keys=sorted(missing_keys),
                        cause=ctx.cause, actor=ctx.actor)
        return other_org

    def disconnect(self, ctx: Context) -> None:
        if not self.connected:
            return
        self._disconnected(cause=ctx.cause, actor=ctx.actor)

    def use_profile(self, profile: str, ctx: Context) -> None:
        if profile not in PROFILES:
            raise IntegrationError(f"unknown profile {profile!r}: expected default or custom")
        if profile == self.profile:
            return
        self._profile_chosen(profile=profile, cause=ctx.cause, actor=ctx.actor)

    def switch(self, enabled: bool, ctx: Context) -> None:
        if enabled == self.enabled:
            return
        self._switched(enabled=enabled, cause=ctx.cause, actor=ctx.actor)

    def switch_step(self, step: str, enabled: bool, ctx: Context) -> None:
        if enabled == (step not in self.disabled_steps):
            return
        self._step_switched(step=step, enabled=enabled, cause=ctx.cause, actor=ctx.actor)

    @event("Connected")
    def _connected(self, org_id: str, environment: str, instance_url: str,
                   connected_user: str | None, missing_keys: list[str], cause: str,
                   actor: str) -> None:
        self.missing_keys = missing_keys
        self.org_id = org_id
        self.environment = environment
        self.instance_url = instance_url
        self.connected_user = connected_user
        self.connected = True

    @event("Disconnected")
    def _disconnected(self, cause: str, actor: str) -> None:
        self.connected = False

    @event("ProfileChosen")
    def _profile_chosen(self, profile: str, cause: str, actor: str) -> None:
        self.profile = profile

    @event("Switched")
    def _switched(self, enabled: bool, cause: str, actor: str) -> None:
        self.enabled = enabled

    @event("StepSwitched")
    def _step_switched(self, step: str, enabled: bool, cause: str, actor: str) -> None:
        if enabled:
            self.disabled_steps.discard(step)
        else:
            self.disabled_steps.add(step)


def _switched_off(step: Step) -> Step:
    return replace(step, enabled=False)
