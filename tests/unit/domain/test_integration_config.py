"""The Integration aggregate's configuration commands: given past events, when a command,
then exactly the differences as small events, or a refusal."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from syncledger.domain.context import Context
from syncledger.domain.integration import Integration, IntegrationError
from syncledger.domain.steps import (
    DEFAULT_STEPS,
    Configuration,
    FieldMapping,
    IntegrationSettings,
    OwnerMapping,
    StepFilter,
)

CTX = Context(cause="config:test", actor="tm-alice")
DEFAULTS = DEFAULT_STEPS["salesforce"]


def given_integration(*configs: Configuration) -> Integration:
    integration = Integration.start("salesforce", CTX)
    for config in configs:
        integration.apply_configuration(config, [], CTX)
    integration.collect_events()
    return integration


def custom(*steps: Any, **settings: Any) -> Configuration:
    return Configuration("salesforce", "custom", IntegrationSettings(**settings),
                         tuple(steps or DEFAULTS))


def events(integration: Integration) -> list[Any]:
    return list(integration.collect_events())


def names(found: list[Any]) -> list[str]:
    return [type(e).__qualname__.removeprefix("Integration.") for e in found]


def replayed(integration: Integration, found: list[Any]) -> Integration:
    copy = None
    for event in found:
        copy = event.mutate(copy)
    assert copy is not None
    return copy


def test_a_first_custom_configuration_adds_its_steps_and_chooses_the_custom_profile() -> None:
    integration = Integration.start("salesforce", CTX)
    changes = integration.apply_configuration(custom(), ["a warning"], CTX)
    found = events(integration)
    assert names(found) == ["Created", *["StepAdded"] * 16, "ProfileChosen", "WarningsRaised"]
    assert changes[-1] == "profile custom"
    assert integration.steps() == list(DEFAULTS)
    assert all((e.cause, e.actor) == ("config:test", "tm-alice") for e in found)
    assert replayed(integration, found).configuration() == integration.configuration()


def test_the_same_configuration_again_records_nothing_not_even_its_warnings() -> None:
    integration = given_integration(custom())
    assert integration.apply_configuration(custom(), ["a warning"], CTX) == []
    assert events(integration) == []


def test_a_changed_mapping_records_one_step_change_naming_what_came_and_went() -> None:
    integration = given_integration(custom())
    first = DEFAULTS[0]
    changed = replace(first, field_mappings=(*first.field_mappings[:2],
                                             FieldMapping("Email", "email", "app"),
                                             FieldMapping("Title", "title")))
    changes = integration.apply_configuration(custom(changed, *DEFAULTS[1:]), [], CTX)
    [event] = events(integration)
    assert type(event).__qualname__ == "Integration.StepChanged"
    assert event.step == first.name
    assert list(event.changes) == ["field_mappings"]
    assert event.added["field_mappings"] == [
        {"crm": "Email", "app": "email", "conflict": "app"},
        {"crm": "Title", "app": "title", "conflict": None}]
    assert event.removed["field_mappings"] == [{"crm": "Email", "app": "email",
                                                "conflict": None}]
    assert "+Title→title" in changes[0] and "-Email→email" in changes[0]
    assert integration.steps()[0] == changed


def test_removing_adding_reordering_and_settings_each_record_their_own_event() -> None:
    integration = given_integration(custom())
    clone = replace(DEFAULTS[0], name="Contacts to People, EMEA",
                    filter=StepFilter(rules=()))
    steps = [clone, *DEFAULTS[2:][::-1]]
    integration.apply_configuration(custom(*steps, conflict="latest", every="1h"), [], CTX)
    found = events(integration)
    assert names(found) == ["SettingsChanged", "StepRemoved", "StepRemoved", "StepAdded",
                            "StepsReordered"]
    assert found[0].changes == {"every": "1h", "conflict": "latest"}
    assert integration.steps() == steps
    assert integration.settings.conflict == "latest"


def test_under_the_default_profile_a_changed_step_is_refused_saying_switch_to_custom() -> None:
    integration = given_integration()
    changed = replace(DEFAULTS[0], field_mappings=DEFAULTS[0].field_mappings[:1])
    config = Configuration("salesforce", "default", IntegrationSettings(),
                           (changed, *DEFAULTS[1:]))
    with pytest.raises(IntegrationError, match="switch to the Custom profile"):
        integration.apply_configuration(config, [], CTX)
    assert events(integration) == []


def test_a_default_profile_configuration_only_switches_its_steps() -> None:
    integration = given_integration(custom())
    off = (replace(DEFAULTS[0], enabled=False), *DEFAULTS[1:])
    config = Configuration("salesforce", "default", IntegrationSettings(enabled=True), off)
    integration.apply_configuration(config, [], CTX)
    assert names(events(integration)) == ["ProfileChosen", "StepSwitched", "Switched"]
    assert integration.profile == "default"
    assert integration.steps() == list(off)
    assert integration.enabled and integration.settings.enabled
    assert integration.custom_steps  # kept for a return to the Custom profile


def test_step_switches_work_under_either_profile_and_unknown_steps_name_the_known() -> None:
    integration = given_integration()
    integration.switch_step("Emails to Lead Tasks", False, CTX)
    assert not {s.name: s for s in integration.steps()}["Emails to Lead Tasks"].enabled
    integration.switch_step("Emails to Lead Tasks", False, CTX)
    assert names(events(integration)) == ["StepSwitched"]
    with pytest.raises(IntegrationError, match="no step 'Nope'.*Contacts to People"):
        integration.switch_step("Nope", True, CTX)

    integration.use_profile("custom", CTX)  # starts from the Default's steps, as switched
    assert names(events(integration)) == [*["StepAdded"] * 16, "ProfileChosen"]
    assert not integration.custom_steps["Emails to Lead Tasks"].enabled
    integration.switch_step("Emails to Lead Tasks", True, CTX)
    assert integration.custom_steps["Emails to Lead Tasks"].enabled
    integration.use_profile("default", CTX)
    # the Default keeps its own switches
    assert not {s.name: s for s in integration.steps()}["Emails to Lead Tasks"].enabled


def test_use_profile_refuses_an_unknown_profile() -> None:
    with pytest.raises(IntegrationError, match="expected default or custom"):
        given_integration().use_profile("fancy", CTX)


def test_the_integration_switch_and_settings_agree() -> None:
    integration = given_integration()
    integration.switch(True, CTX)
    integration.switch(True, CTX)
    assert names(events(integration)) == ["Switched"]
    assert integration.configuration().settings.enabled


def test_a_configuration_for_another_crm_is_refused() -> None:
    config = Configuration("pipedrive", "custom", IntegrationSettings(),
                           DEFAULT_STEPS["pipedrive"])
    with pytest.raises(IntegrationError, match="for pipedrive, not salesforce"):
        given_integration().apply_configuration(config, [], CTX)


def test_owner_pairs_at_integration_level_are_a_settings_change() -> None:
    integration = given_integration(custom())
    pairs = (OwnerMapping("0058d0000000001AAA", "tm-alice"),)
    integration.apply_configuration(custom(owner_mappings=pairs), [], CTX)
    [event] = events(integration)
    assert event.changes == {"owner_mappings": [{"crm": "0058d0000000001AAA",
                                                 "app": "tm-alice"}]}
    assert integration.settings.owner_mappings == pairs


def test_under_the_default_profile_no_owner_pairs_are_in_force_but_they_are_kept() -> None:
    pairs = (OwnerMapping("0058d0000000001AAA", "tm-alice"),)
    integration = given_integration(custom(owner_mappings=pairs))
    integration.use_profile("default", CTX)
    assert integration.settings.owner_mappings == ()
    shown = integration.configuration()
    assert integration.apply_configuration(shown, [], CTX) == []  # show, apply back: nothing
    integration.use_profile("custom", CTX)
    assert integration.settings.owner_mappings == pairs


def test_a_configuration_that_says_nothing_of_enabled_leaves_the_switch_as_it_is() -> None:
    integration = given_integration(custom())
    integration.switch(True, CTX)
    events(integration)
    silent = replace(custom(), enabled_given=False)  # settings.enabled is False, unsaid
    assert integration.apply_configuration(silent, [], CTX) == []
    assert events(integration) == [] and integration.enabled
    integration.apply_configuration(custom(), [], CTX)  # said: enabled = false
    assert names(events(integration)) == ["Switched"] and not integration.enabled
