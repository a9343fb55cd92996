"""The integration with one CRM: connection facts (never a secret), profile, switches, and
the Custom profile's configuration (settings and steps), each change its own small event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.config_rules import default_profile_problems
from syncledger.domain.context import SYSTEM_ACTOR, Context
from syncledger.domain.ids import integration_id
from syncledger.domain.steps import (
    DEFAULT_STEPS,
    PROFILES,
    SETTING_NAMES,
    Configuration,
    IntegrationSettings,
    Step,
    settings_from_plain,
    settings_to_plain,
    step_from_plain,
    step_to_plain,
)


class IntegrationError(ValueError):
    pass


class Integration(CausedAggregate):
    @staticmethod
    def create_id(crm: str, **_: Any) -> UUID:
        return integration_id(crm)

    @classmethod
    def start(cls, crm: str, ctx: Context) -> Integration:
        return cls._begin(ctx, crm=crm)

    @event("Created")
    def __init__(self, crm: str) -> None:
        self.crm = crm
        self.org_id: str | None = None
        self.environment: str | None = None
        self.instance_url: str | None = None
        self.connected_user: str | None = None
        # The team member who connected (`--as`): owns what syncs in with no other owner.
        self.connected_by: str | None = None
        self.missing_keys: list[str] = []
        self.connected = False
        self.profile = "default"
        self.enabled = False
        self.disabled_steps: set[str] = set()
        self.recorded_settings = IntegrationSettings()
        self.custom_steps: dict[str, Step] = {}

    @property
    def settings(self) -> IntegrationSettings:
        """The settings in force: as recorded, but the Default profile has no ownership
        pairs (the Custom profile's stay recorded for a return to it)."""
        if self.profile == "default" and self.recorded_settings.owner_mappings:
            return replace(self.recorded_settings, owner_mappings=())
        return self.recorded_settings

    def steps(self) -> list[Step]:
        """The steps in force: the Default profile's fixed ones with their on/off switches,
        or the Custom profile's own."""
        if self.profile == "default":
            return [s if s.name not in self.disabled_steps else _switched_off(s)
                    for s in DEFAULT_STEPS[self.crm]]
        return list(self.custom_steps.values())

    def configuration(self) -> Configuration:
        return Configuration(crm=self.crm, profile=self.profile,
                             settings=replace(self.settings, enabled=self.enabled),
                             steps=tuple(self.steps()))

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
        self._happened(self._connected, ctx, org_id=org_id, environment=environment,
                       instance_url=instance_url, connected_user=connected_user,
                       missing_keys=sorted(missing_keys))
        return other_org

    def disconnect(self, ctx: Context) -> None:
        if not self.connected:
            return
        self._happened(self._disconnected, ctx)

    def use_profile(self, profile: str, ctx: Context) -> None:
        if profile not in PROFILES:
            raise IntegrationError(f"unknown profile {profile!r}: expected default or custom")
        if profile == self.profile:
            return
        if profile == "custom" and not self.custom_steps:
            # As the vendors' Custom profile does, it starts from the Default's steps.
            for step in self.steps():
                self._happened(self._step_added, ctx, step=step_to_plain(step))
        self._happened(self._profile_chosen, ctx, profile=profile)

    def switch(self, enabled: bool, ctx: Context) -> None:
        if enabled == self.enabled:
            return
        self._happened(self._switched, ctx, enabled=enabled)

    def switch_step(self, step: str, enabled: bool, ctx: Context) -> None:
        """Under either profile: the Default's steps keep their own switches."""
        current = {s.name: s.enabled for s in self.steps()}
        if step not in current:
            raise IntegrationError(f"no step {step!r} in the {self.profile} profile; its steps: "
                                   f"{', '.join(current) or 'none'}")
        if enabled == current[step]:
            return
        self._happened(self._step_switched, ctx, step=step, enabled=enabled)

    def apply_configuration(self, config: Configuration, warnings: Sequence[str],
                            ctx: Context) -> list[str]:
        """Record exactly what differs from the configuration in force, and say what did.

        A Custom configuration replaces the Custom steps and chooses the Custom profile; a
        Default one may only switch the Default's steps on and off. The checks that need
        the CRM ran before (config_rules); the Default profile's rule is this aggregate's."""
        if config.crm != self.crm:
            raise IntegrationError(f"the configuration is for {config.crm}, not {self.crm}")
        if config.profile not in PROFILES:
            raise IntegrationError(f"unknown profile {config.profile!r}")
        if config.profile == "default":
            problems = default_profile_problems(self.crm, config.steps, config.settings)
            if problems:
                raise IntegrationError(str(problems[0]))
        settings = config.settings
        if config.profile == "default":
            settings = replace(settings, owner_mappings=self.recorded_settings.owner_mappings)
        changes = self._change_settings(settings, ctx)
        if config.profile == "custom":
            changes += self._change_steps(config.steps, ctx)
        if config.profile != self.profile:
            self._happened(self._profile_chosen, ctx, profile=config.profile)
            changes.append(f"profile {config.profile}")
        if config.profile == "default":
            current = {s.name: s.enabled for s in self.steps()}
            for step in config.steps:
                if current[step.name] != step.enabled:
                    self._happened(self._step_switched, ctx, step=step.name, enabled=step.enabled)
                    changes.append(f"step {step.name!r} switched "
                                   f"{'on' if step.enabled else 'off'}")
        if config.enabled_given and config.settings.enabled != self.enabled:
            self._happened(self._switched, ctx, enabled=config.settings.enabled)
            changes.append("integration " + ("enabled" if self.enabled else "disabled"))
        if changes and warnings:
            self._happened(self._warnings_raised, ctx, warnings=list(warnings))
        return changes

    def _change_settings(self, settings: IntegrationSettings, ctx: Context) -> list[str]:
        old, new = settings_to_plain(self.recorded_settings), settings_to_plain(settings)
        changed = {name: new[name] for name in SETTING_NAMES if old[name] != new[name]}
        if not changed:
            return []
        self._happened(self._settings_changed, ctx, changes=changed)
        return [f"settings: {', '.join(changed)}"]

    def _change_steps(self, steps: Sequence[Step], ctx: Context) -> list[str]:
        changes = []
        wanted = {s.name for s in steps}
        for name in [n for n in self.custom_steps if n not in wanted]:
            self._happened(self._step_removed, ctx, step=name)
            changes.append(f"removed step {name!r}")
        for step in steps:
            old = self.custom_steps.get(step.name)
            if old is None:
                self._happened(self._step_added, ctx, step=step_to_plain(step))
                changes.append(f"added step {step.name!r}")
            elif old != step:
                before, after = step_to_plain(old), step_to_plain(step)
                changed = {k: v for k, v in after.items() if before[k] != v}
                # For lists (mappings), which items came and went: what an auditor asks.
                added = {k: [x for x in v if x not in (before[k] or [])]
                         for k, v in changed.items() if isinstance(v, list)}
                removed = {k: [x for x in before[k] or [] if x not in v]
                           for k, v in changed.items() if isinstance(v, list)}
                self._happened(self._step_changed, ctx, step=step.name, changes=changed,
                               added=added, removed=removed)
                changes.append(f"changed step {step.name!r}: "
                               + ", ".join(_described(k, added.get(k), removed.get(k))
                                           for k in changed))
        order = [s.name for s in steps]
        if list(self.custom_steps) != order:
            self._happened(self._steps_reordered, ctx, names=order)
            changes.append("step order")
        return changes

    @event("Connected")
    def _connected(self, org_id: str, environment: str, instance_url: str,
                   connected_user: str | None, missing_keys: list[str], actor: str) -> None:
        # `actor`: the event's own (see CausedAggregate), who connected.
        self.missing_keys = missing_keys
        self.org_id = org_id
        self.environment = environment
        self.instance_url = instance_url
        self.connected_user = connected_user
        self.connected_by = None if actor == SYSTEM_ACTOR else actor
        self.connected = True

    @event("Disconnected")
    def _disconnected(self) -> None:
        self.connected = False

    @event("ProfileChosen")
    def _profile_chosen(self, profile: str) -> None:
        self.profile = profile

    @event("Switched")
    def _switched(self, enabled: bool) -> None:
        self.enabled = enabled
        self.recorded_settings = replace(self.recorded_settings, enabled=enabled)

    @event("StepSwitched")
    def _step_switched(self, step: str, enabled: bool) -> None:
        if self.profile == "custom" and step in self.custom_steps:
            self.custom_steps[step] = replace(self.custom_steps[step], enabled=enabled)
        elif enabled:
            self.disabled_steps.discard(step)
        else:
            self.disabled_steps.add(step)

    @event("SettingsChanged")
    def _settings_changed(self, changes: dict[str, Any]) -> None:
        self.recorded_settings = settings_from_plain(
            {**settings_to_plain(self.recorded_settings), **changes}, enabled=self.enabled)

    @event("StepAdded")
    def _step_added(self, step: dict[str, Any]) -> None:
        self.custom_steps[step["name"]] = step_from_plain(step)

    @event("StepRemoved")
    def _step_removed(self, step: str) -> None:
        del self.custom_steps[step]

    @event("StepChanged")
    def _step_changed(self, step: str, changes: dict[str, Any], added: dict[str, Any],
                      removed: dict[str, Any]) -> None:
        self.custom_steps[step] = step_from_plain(
            {**step_to_plain(self.custom_steps[step]), **changes})

    @event("StepsReordered")
    def _steps_reordered(self, names: list[str]) -> None:
        self.custom_steps = {name: self.custom_steps[name] for name in names}

    @event("WarningsRaised")
    def _warnings_raised(self, warnings: list[str]) -> None:
        pass


def _switched_off(step: Step) -> Step:
    return replace(step, enabled=False)


def _described(what: str, added: list[Any] | None, removed: list[Any] | None) -> str:
    items = [f"+{_item(x)}" for x in added or ()] + [f"-{_item(x)}" for x in removed or ()]
    return f"{what} ({' '.join(items)})" if items else what


def _item(item: Any) -> str:
    if isinstance(item, dict) and "crm" in item and "app" in item:
        conflict = f" (conflict {item['conflict']})" if item.get("conflict") else ""
        return f"{item['crm']}→{item['app']}{conflict}"
    if isinstance(item, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in item.items() if v is not None) + "}"
    return str(item)
