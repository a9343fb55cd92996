"""The configuration file: TOML or JSON read into the domain's values, one line naming the
file, step and key for anything malformed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncledger.commands.config_file import (
    ConfigFileError,
    configuration_document,
    configuration_toml,
    read_configuration,
)
from syncledger.domain.steps import FieldMapping, FilterRule, OwnerMapping, StepFilter

DESIGN_EXAMPLE = '''
[integration]
crm = "salesforce"          # or "pipedrive"
enabled = true
every = "2h"
overlap = "5m"
timezone = "UTC"
conflict = "crm"
api_budget = 0.5
owner_match = "email"
store_contents = true
owner_mappings = [ { crm = "005000000000001AAA", app = "tm-alice" } ]

[[steps]]
name = "Contacts in, Q4"
from = "salesforce.contacts"
to = "app.people"
enabled = true
field_mappings = [
  { crm = "FirstName", app = "first_name" },
  { crm = "LastName",  app = "last_name" },
  { crm = "Email",     app = "email" },
  { crm = "Title",     app = "fields.title", conflict = "app" },
]
filter = { rules = [{ field = "Email", op = "ends_with", value = "@acme.com" }] }
owner_mappings = [ { crm = "005000000000001AAA", app = "tm-alice" } ]
sequence_mappings = [
  # one line: TOML 1.0 (tomllib) does not let an inline table span lines
  { owner = "tm-alice", sequence = "seq-q4", step = 1, ignore_step_delay = true },
]

[[steps]]
name = "Statuses out"
from = "app.person_statuses"
to = "salesforce.lead_statuses"
status_mappings = [ { app = "Replied", crm = "Working - Contacted" } ]

[[steps]]
name = "Emails out"
from = "app.emails"
to = "salesforce.contact_tasks"
include_contents = true
filter = {}
'''


def write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_designs_example_reads_as_written(tmp_path: Path) -> None:
    config = read_configuration(write(tmp_path, DESIGN_EXAMPLE))
    assert (config.crm, config.profile) == ("salesforce", "custom")  # custom unless said
    assert config.settings.enabled and config.settings.owner_match == "email"
    assert config.settings.owner_mappings == (OwnerMapping("005000000000001AAA", "tm-alice"),)
    first, statuses, emails = config.steps
    assert first.field_mappings[-1] == FieldMapping("Title", "title", "app")  # fields. prefix
    assert first.filter == StepFilter(rules=(FilterRule("Email", "ends_with", "@acme.com"),))
    assert first.sequence_mappings[0].ignore_step_delay
    assert statuses.status_mappings[0].crm == "Working - Contacted"
    assert emails.include_contents and emails.filter is None  # an empty filter is none
    assert emails.owner_mappings is None  # the integration's list applies


def test_show_json_and_show_toml_are_read_back(tmp_path: Path) -> None:
    config = read_configuration(write(tmp_path, DESIGN_EXAMPLE))
    as_json = write(tmp_path, json.dumps(configuration_document(config)), "c.json")
    assert read_configuration(as_json) == config
    assert read_configuration(write(tmp_path, configuration_toml(config), "again.toml")) == \
        config


@pytest.mark.parametrize(("text", "message"), [
    ("[integration]\ncrm = 'hubspot'\n", "[integration] crm: Input should be 'salesforce' or "
                                         "'pipedrive'"),
    ("[integration]\ncrm = 'salesforce'\ntimezone = 'Mars/Olympus'\n",
     "[integration] timezone: unknown time zone 'Mars/Olympus'"),
    ("[integration]\ncrm = 'salesforce'\n[[steps]]\nname = 'A'\nfrom = 'app.emails'\n"
     "to = 'salesforce.lead_tasks'\nfield_mapings = []\n",
     "step 'A', field_mapings: unknown key"),
    ("[integration]\ncrm = 'salesforce'\n[[steps]]\nname = 'A'\nfrom = 'app.people'\n"
     "to = 'salesforce.leads'\nsequence_mappings = [{ owner = 'tm', sequence = 's', "
     "step = 0 }]\n", "step 'A', sequence_mappings.0.step: Input should be greater than"),
    ("[integration]\ncrm = 'salesforce'\n[[steps]]\nfrom = 'app.people'\n",
     "steps[0], name: Field required"),
    ("[integration\ncrm = 1\n", "not valid TOML"),
])
def test_a_malformed_file_is_one_line_naming_file_step_and_key(tmp_path: Path, text: str,
                                                               message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as raised:
        read_configuration(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="No such file"):
        read_configuration(tmp_path / "nope.toml")


def test_init_text_has_the_pre_set_pair_commented_out_with_what_it_does(tmp_path: Path
                                                                        ) -> None:
    config = read_configuration(write(tmp_path, DESIGN_EXAMPLE.replace(
        'owner_mappings = [ { crm = "005000000000001AAA", app = "tm-alice" } ]\n\n[[steps]]',
        "\n[[steps]]", 1)))
    text = configuration_toml(config, owner_pair=("005X", "tm-bob"))
    assert '# owner_mappings = [ { crm = "005X", app = "tm-bob" } ]' in text
    assert "Switched on" in text
    assert read_configuration(write(tmp_path, text, "init.toml")) == config
    switched_on = text.replace("# owner_mappings =", "owner_mappings =")
    assert read_configuration(write(tmp_path, switched_on, "on.toml")).settings \
        .owner_mappings == (OwnerMapping("005X", "tm-bob"),)
