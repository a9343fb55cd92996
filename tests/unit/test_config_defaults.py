"""The configuration file's defaults are the domain's: a key the file leaves out means what
the domain's dataclasses say it means, written there alone (issue 18)."""

from __future__ import annotations

from dataclasses import fields

from syncledger.commands.config_file import (
    IntegrationModel,
    SequenceMappingModel,
    configuration_from,
)
from syncledger.domain.steps import (
    SETTING_NAMES,
    IntegrationSettings,
    SequenceMapping,
    Step,
    settings_to_plain,
)

LEAST = {"integration": {"crm": "salesforce"},
         "steps": [{"name": "in", "from": "salesforce.contacts", "to": "app.people",
                    "sequence_mappings": [{"owner": "*", "sequence": "seq-1"}]}]}


def test_every_setting_of_the_domain_is_a_key_of_the_file() -> None:
    settings = {f.name for f in fields(IntegrationSettings)} - {"enabled"}
    assert settings == set(SETTING_NAMES)
    assert settings <= set(IntegrationModel.model_fields)


def test_the_file_models_defaults_equal_the_domains() -> None:
    model = IntegrationModel(crm="salesforce")
    assert model.model_dump(include=set(SETTING_NAMES)) == settings_to_plain(
        IntegrationSettings())
    mapping = SequenceMappingModel(owner="*", sequence="seq-1")
    assert (mapping.step, mapping.ignore_step_delay, mapping.only_new_records) == (
        SequenceMapping.step, SequenceMapping.ignore_step_delay,
        SequenceMapping.only_new_records)


def test_a_file_of_required_keys_only_reads_as_the_domains_defaults() -> None:
    config = configuration_from(LEAST, "least.toml")
    assert config.settings == IntegrationSettings()
    assert config.steps == (Step("in", "salesforce.contacts", "app.people",
                                 sequence_mappings=(SequenceMapping("*", "seq-1"),)),)
