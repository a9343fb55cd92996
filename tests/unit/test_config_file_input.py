"""A configuration file a store could not hold, or Python could not read, is one line naming
the file (and the key), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncledger.commands.config_file import ConfigFileError, read_configuration
from syncledger.domain.schedule import parse_every

BASE = "[integration]\ncrm = 'salesforce'\n"


def refused(tmp_path: Path, data: bytes | str, name: str = "c.toml") -> str:
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    with pytest.raises(ConfigFileError) as raised:
        read_configuration(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message.removeprefix(f"{path}: ")


@pytest.mark.parametrize(("data", "name", "message"), [
    (BASE.encode() + b"timezone = '\xff'\n", "c.toml",
     "not UTF-8 text (line 3: invalid start byte, byte 0xff)"),
    (BASE + 'timezone = "UTC\\u0000"\n', "c.toml",
     "[integration] timezone: the text contains a NUL character (\\u0000)"),
    ('{"integration": {"crm": "salesforce", "timezone": "\\ud800"}}', "c.json",
     "[integration] timezone: the text contains a lone surrogate (\\ud800)"),
    (BASE + '[[steps]]\nname = "In\\u0000"\nfrom = "a"\nto = "b"\n', "c.toml",
     "step 'In\\x00', name: the text contains a NUL character"),
    (BASE + "api_budget = nan\n", "c.toml", "[integration] api_budget: nan is not a number"),
    (BASE + "api_budget = inf\n", "c.toml", "[integration] api_budget: inf is not a number"),
    ('{"integration": {"crm": "salesforce", "api_budget": Infinity}}', "c.json",
     "[integration] api_budget: Infinity is not a number"),
    (BASE + "api_budget = " + "9" * 5000 + "\n", "c.toml",
     "not valid TOML: a number has too many digits"),
    ('{"integration": {"crm": "salesforce", "api_budget": ' + "9" * 5000 + "}}", "c.json",
     "[integration] api_budget: a number of 5000 digits is too large"),
    (BASE + "x = " + "[" * 5000 + "]" * 5000 + "\n", "c.toml", "nested more than 32 levels"),
    (BASE + "x = " + "[" * 40 + "]" * 40 + "\n", "c.toml",
     "[integration] x.0.0.0.0...: nested more than 32 levels deep"),
    ('{"integration": ' + "[" * 5000 + "]" * 5000 + "}", "c.json",
     "nested more than 32 levels deep"),
    (BASE + "every = '99999999999999999999h'\n", "c.toml",
     "[integration] every: '99999999999999999999h' is longer than a year"),
    (BASE + "overlap = '" + "9" * 5000 + "m'\n", "c.toml", "[integration] overlap: '99999"),
    (BASE + "every = '400d'\n", "c.toml", "[integration] every: '400d' is longer than a year"),
])
def test_hostile_configuration_files(tmp_path: Path, data: bytes | str, name: str,
                                     message: str) -> None:
    assert message in refused(tmp_path, data, name)


def test_a_folder_is_no_configuration(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()
    with pytest.raises(ConfigFileError, match="config.toml: Is a directory"):
        read_configuration(tmp_path / "config.toml")


def test_a_year_is_the_longest_interval() -> None:
    assert parse_every("366d").days == 366
    for text in ("367d", "99999999999999999999h", "9" * 5000 + "s"):
        with pytest.raises(ValueError, match="longer than a year"):
            parse_every(text)
    with pytest.raises(ValueError, match="not a duration"):
        parse_every("\u0663h")  # an Arabic-Indic 3: a digit to Python, not to a user
