"""The configuration file: TOML, or the JSON that `config show --json` prints, read into
pydantic models (shape and types; unknown keys refused), then into the domain's plain
values, which domain.config_rules checks. Also the TOML text `config init` and `config show`
write, which `config apply` reads back."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from syncledger.commands.input_values import (
    MAX_DEPTH,
    InputValueError,
    check,
    load_json,
    shown_path,
)
from syncledger.domain.field_types import canonical_app_field
from syncledger.domain.schedule import too_long
from syncledger.domain.steps import (
    PEOPLE_RECORDS,
    Configuration,
    FieldMapping,
    IntegrationSettings,
    SequenceMapping,
    Step,
    settings_from_plain,
    settings_to_plain,
    step_from_plain,
    step_to_plain,
)

# Every default below is read from the domain's dataclasses, where alone it is written: a key
# the file leaves out means what the domain means by it (issue 18).
DEFAULT_SETTINGS = IntegrationSettings()


class ConfigFileError(ValueError):
    """The file cannot be read as a configuration: one line naming the file and the key."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FieldMappingModel(Model):
    crm: str = Field(min_length=1)
    app: str = Field(min_length=1)
    conflict: str | None = FieldMapping.conflict


class OwnerMappingModel(Model):
    crm: str = Field(min_length=1)
    app: str = Field(min_length=1)


class SequenceMappingModel(Model):
    owner: str = Field(min_length=1)
    sequence: str = Field(min_length=1)
    step: int = Field(default=SequenceMapping.step, ge=1)
    ignore_step_delay: bool = SequenceMapping.ignore_step_delay
    only_new_records: bool = SequenceMapping.only_new_records


class FilterRuleModel(Model):
    field: str = Field(min_length=1)
    op: str
    value: str | int | float | bool | list[str | int | float | bool] | None = None


class FilterModel(Model):
    rules: list[FilterRuleModel] = []
    saved: str | None = None
    list_: str | None = Field(default=None, alias="list")  # `list` would shadow the type


class StatusMappingModel(Model):
    app: str = Field(min_length=1)
    crm: str = Field(min_length=1)


class StepModel(Model):
    name: str
    source: str = Field(alias="from")
    to: str
    enabled: bool = Step.enabled
    field_mappings: list[FieldMappingModel] = []
    filter: FilterModel | None = None
    owner_mappings: list[OwnerMappingModel] | None = None  # the integration's list
    owner_match: str | None = Step.owner_match
    sequence_mappings: list[SequenceMappingModel] = []
    status_mappings: list[StatusMappingModel] = []
    include_contents: bool = Step.include_contents


class IntegrationModel(Model):
    crm: Literal["salesforce", "pipedrive"]
    profile: Literal["default", "custom"] = "custom"
    enabled: bool | None = None  # not given: the integration stays on or off as it is
    every: str = DEFAULT_SETTINGS.every
    overlap: str = DEFAULT_SETTINGS.overlap
    timezone: str = DEFAULT_SETTINGS.timezone
    conflict: str = DEFAULT_SETTINGS.conflict
    api_budget: float = DEFAULT_SETTINGS.api_budget
    owner_match: str | None = DEFAULT_SETTINGS.owner_match
    store_contents: bool = DEFAULT_SETTINGS.store_contents
    owner_mappings: list[OwnerMappingModel] = []  # none, as the domain's ()
    mass_change_limit: float = DEFAULT_SETTINGS.mass_change_limit

    @field_validator("every", "overlap")
    @classmethod
    def _not_too_long(cls, value: str) -> str:
        # The form is domain.config_rules' to check; a huge one would overflow a date first.
        if too_long(value):
            raise ValueError(f"{value!r} is longer than a year")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as "
                             "Europe/Paris or UTC)") from None
        return value


class ConfigModel(Model):
    integration: IntegrationModel
    steps: list[StepModel] = []


# -- reading ------------------------------------------------------------------------------
def read_configuration(path: Path) -> Configuration:
    """The file's configuration, or ConfigFileError naming the file and the key."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigFileError(f"{path}: {error.strerror}") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigFileError(f"{path}: not UTF-8 text (line {line}: {error.reason}, byte "
                              f"0x{data[error.start]:02x})") from None
    try:
        # Checked with the configuration, where a step is named: see configuration_from.
        raw = load_json(text, checked=False) if _looks_like_json(path, text) \
            else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigFileError(f"{path}: not valid {_format(path, text)}: {error}") from None
    except (InputValueError, RecursionError):
        raise ConfigFileError(f"{path}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:  # tomllib reads integers of any length, up to Python's own limit
        raise ConfigFileError(f"{path}: not valid TOML: a number has too many digits") \
            from None
    return configuration_from(raw, str(path))


def configuration_from(raw: Any, source: str) -> Configuration:
    try:
        check(raw)
    except InputValueError as error:
        where = _where(list(error.path), raw)
        raise ConfigFileError(f"{source}: {where + ': ' if where else ''}{error.reason}") \
            from None
    try:
        model = ConfigModel.model_validate(raw)
    except ValidationError as error:
        raise ConfigFileError(f"{source}: {_first_error(error, raw)}") from None
    integration = model.integration
    plain = integration.model_dump(exclude={"crm", "profile", "enabled"})
    steps = tuple(_step(s) for s in model.steps)
    return Configuration(crm=integration.crm, profile=integration.profile,
                         settings=settings_from_plain(plain, enabled=bool(integration.enabled)),
                         steps=steps, enabled_given=integration.enabled is not None)


def _step(model: StepModel) -> Step:
    plain = model.model_dump(by_alias=True)
    for mapping in plain["field_mappings"]:
        mapping["app"] = canonical_app_field(mapping["app"])
    rule_filter = plain["filter"]
    if rule_filter is not None and not any(rule_filter.values()):
        plain["filter"] = None  # `filter = {}` is no filter
    return step_from_plain(plain)


def _looks_like_json(path: Path, text: str) -> bool:
    return path.suffix.lower() == ".json" or text.lstrip().startswith("{")


def _format(path: Path, text: str) -> str:
    return "JSON" if _looks_like_json(path, text) else "TOML"


def _first_error(error: ValidationError, raw: Any) -> str:
    """One line: where (the step by name when the error is inside one) and why."""
    first = error.errors()[0]
    where = _where(list(first["loc"]), raw)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}: {message}" if where else message


def _where(location: list[Any], raw: Any) -> str:
    """A key's place as a user reads it: the step by name when the key is inside one."""
    where = shown_path(tuple(location))
    if len(location) >= 2 and location[0] == "steps" and isinstance(location[1], int):
        name = _step_name(raw, location[1])
        rest = shown_path(tuple(location[2:])) or "step"
        where = f"step {name!r}, {rest}" if name else f"steps[{location[1]}], {rest}"
    elif location and location[0] == "integration":
        where = f"[integration] {shown_path(tuple(location[1:]))}".rstrip()
    return where


def _step_name(raw: Any, index: int) -> str | None:
    try:
        name = raw["steps"][index]["name"]
    except (KeyError, IndexError, TypeError):
        return None
    return name if isinstance(name, str) else None


# -- writing ------------------------------------------------------------------------------
def configuration_document(config: Configuration) -> dict[str, Any]:
    """The JSON form (`config show --json`): every key present, accepted back by apply."""
    return {"integration": {"crm": config.crm, "profile": config.profile,
                            "enabled": config.settings.enabled,
                            **settings_to_plain(config.settings)},
            "steps": [step_to_plain(s) for s in config.steps]}


def configuration_toml(config: Configuration, owner_pair: tuple[str, str] | None = None,
                       header: str = "") -> str:
    """The TOML form. `owner_pair` (CRM user, team member): the vendors' pre-set pair,
    written commented out."""
    document = configuration_document(config)
    integration = document["integration"]
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += ["[integration]"]
    for key, value in integration.items():
        if key == "owner_mappings" and not value and owner_pair is not None:
            lines += _owner_pair_lines(config.crm, *owner_pair)
        elif value is not None and not (key == "owner_mappings" and not value):
            lines.append(f"{key} = {toml_value(value)}")
    for step in document["steps"]:
        lines += ["", "[[steps]]"]
        for key, value in step.items():
            if value is None or (key in _EMPTY_DEFAULTS and value == _EMPTY_DEFAULTS[key]):
                continue
            lines.append(f"{key} = {toml_value(value, key)}")
    return "\n".join(lines) + "\n"


# A step's keys that the TOML leaves out while they hold the domain's default (nothing).
_EMPTY_DEFAULTS: dict[str, Any] = {
    key: value for key, value in step_to_plain(Step("", "", "")).items()
    if key in ("field_mappings", "sequence_mappings", "status_mappings", "include_contents")}


def _owner_pair_lines(crm: str, crm_user: str, member: str) -> list[str]:
    records = PEOPLE_RECORDS[crm]
    return [
        "# The pre-set ownership pair: the connected CRM user and you. Switched on (remove the",
        f"# leading #), it applies to every people step: {records} that user owns come in",
        f"# owned by {member}, and {member}'s people go out owned by that user; records of",
        "# owners in no pair (and, with owner_match = \"email\", matching no one by email) are",
        "# skipped as \"owner not mapped\". Left off, a single user syncs everything: people come",
        "# in owned by you (or by their owner's email match) and go out with no owner set.",
        f"# owner_mappings = [ {{ crm = {toml_value(crm_user)}, app = {toml_value(member)} }} ]",
    ]


def toml_value(value: Any, key: str = "") -> str:
    """A TOML value, for the shapes a configuration holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # TOML's escapes are JSON's, but never a surrogate pair, and DEL is escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = [toml_value(v) for v in value]
        if key and all(isinstance(v, dict) for v in value):
            return "[\n" + "".join(f"  {item},\n" for item in items) + "]"
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        pairs = [f"{k} = {toml_value(v)}" for k, v in value.items()
                 if v is not None and not (k == "rules" and v == [])]
        return "{ " + ", ".join(pairs) + " }" if pairs else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")
