"""Properties of configuration: applying A then B gives the configuration B alone gives;
B again records nothing; the events replay to the same state; the file forms round-trip."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncledger.commands.config_file import (
    configuration_document,
    configuration_from,
    configuration_toml,
)
from syncledger.domain.context import Context
from syncledger.domain.integration import Integration
from syncledger.domain.steps import (
    Configuration,
    FieldMapping,
    FilterRule,
    IntegrationSettings,
    OwnerMapping,
    SequenceMapping,
    StatusMapping,
    Step,
    StepFilter,
    step_kinds,
)

SETTINGS = settings(max_examples=60, deadline=None)
CTX = Context(cause="config:property", actor="tm-alice")

words = st.sampled_from(["Title", "Phone", "Email", "FirstName", "LastName", "Company",
                         "Department", "Ünïcode \"quoted\""])
app_fields = st.sampled_from(["email", "first_name", "title", "score", "last_name"])
members = st.sampled_from(["tm-alice", "tm-bob", "tm-carol"])
users = st.sampled_from(["0058d0000000001AAA", "0058d0000000002AAA"])
pairs = st.lists(st.builds(OwnerMapping, users, members), max_size=2).map(tuple)
# Any text a configuration can hold: the reader refuses a NUL, which no store can keep
# (tests/unit/test_config_file_input.py shows it refused, naming where).
texts = st.characters(exclude_characters="\x00")


@st.composite
def step_filters(draw: st.DrawFn, inbound: bool) -> StepFilter | None:
    if not draw(st.booleans()):
        return None
    if inbound:
        value = draw(st.one_of(st.none(), st.text(texts, max_size=5), st.integers(-5, 5),
                               st.lists(st.text(texts, max_size=3), min_size=1, max_size=2)
                               .map(tuple)))
        op = "in" if isinstance(value, tuple) else draw(st.sampled_from(["eq", "contains"]))
        return StepFilter(rules=(FilterRule(draw(words), op, value),))
    return draw(st.sampled_from([StepFilter(saved="Replied"), StepFilter(list="l-webinar"),
                                 StepFilter(saved="Opened", list="l-webinar")]))


@st.composite
def steps(draw: st.DrawFn, name: str) -> Step:
    source, target = draw(st.sampled_from(step_kinds("salesforce")))
    inbound = not source.startswith("app.")
    return Step(
        name=name, source=source, target=target, enabled=draw(st.booleans()),
        field_mappings=tuple(draw(st.lists(st.builds(
            FieldMapping, words, app_fields, st.sampled_from([None, "crm", "app", "latest"])),
            max_size=3))),
        filter=draw(step_filters(inbound)),
        owner_mappings=draw(st.none() | pairs),
        owner_match=draw(st.sampled_from([None, "email"])),
        sequence_mappings=tuple(draw(st.lists(st.builds(
            SequenceMapping, members, st.sampled_from(["seq-q4", "seq-q1"]),
            st.integers(1, 3), st.booleans(), st.booleans()), max_size=2))),
        status_mappings=tuple(draw(st.lists(st.builds(
            StatusMapping, st.sampled_from(["Replied", "Opened"]),
            st.sampled_from(["Working - Contacted", "Replied"])), max_size=2))),
        include_contents=draw(st.booleans()))


@st.composite
def configurations(draw: st.DrawFn) -> Configuration:
    chosen = draw(st.lists(st.sampled_from(["Contacts in", "Leads in", "People out",
                                            "Emails", "Notes", "Statuses", "Émoji ✓"]),
                           unique=True, max_size=5))
    return Configuration(
        crm="salesforce", profile="custom",
        settings=IntegrationSettings(
            enabled=draw(st.booleans()), every=draw(st.sampled_from(["2h", "30m"])),
            overlap=draw(st.sampled_from(["5m", "0s"])),
            timezone=draw(st.sampled_from(["UTC", "Europe/Paris"])),
            conflict=draw(st.sampled_from(["crm", "app", "latest"])),
            api_budget=draw(st.sampled_from([0.5, 0.25, 1.0])),
            owner_match=draw(st.sampled_from([None, "email"])),
            store_contents=draw(st.booleans()), owner_mappings=draw(pairs)),
        steps=tuple(draw(steps(name)) for name in chosen))


def applied(*configs: Configuration) -> tuple[Integration, list[Any]]:
    integration = Integration.start("salesforce", CTX)
    for config in configs:
        integration.apply_configuration(config, ["a warning"], CTX)
    return integration, list(integration.collect_events())


@SETTINGS
@given(configurations(), configurations())
def test_applying_a_then_b_gives_the_configuration_of_b_alone(a: Configuration,
                                                              b: Configuration) -> None:
    both, _ = applied(a, b)
    alone, _ = applied(b)
    assert both.configuration() == alone.configuration() == b
    assert both.steps() == list(b.steps)


@SETTINGS
@given(configurations(), configurations())
def test_b_again_records_nothing_and_the_events_replay_to_the_same_state(
        a: Configuration, b: Configuration) -> None:
    integration, found = applied(a, b)
    assert integration.apply_configuration(b, ["a warning"], CTX) == []
    assert integration.collect_events() == []
    copy = None
    for event in found:
        copy = event.mutate(copy)
    assert isinstance(copy, Integration)
    assert copy.configuration() == integration.configuration()


@SETTINGS
@given(configurations())
def test_the_json_and_toml_forms_read_back_to_the_same_configuration(
        config: Configuration) -> None:
    import tomllib

    assert configuration_from(configuration_document(config), "show.json") == config
    assert configuration_from(tomllib.loads(configuration_toml(config)), "show.toml") == config
