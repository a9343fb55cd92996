"""The pure parts of the command line's conventions (issue 21): which field a bare name
means, what --since reads, which outcomes fail a sync, when --json asks for JSON errors,
what status --check fails on, and the words for an untrusted certificate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncledger.adapters.crm_errors import untrusted
from syncledger.commands.cli.common import UserError, json_requested, since_time
from syncledger.commands.cli.sync import _failing_outcomes
from syncledger.commands.status import problems
from syncledger.replay.explain import UnknownField, check_field

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_a_bare_app_field_name_means_the_persons_field() -> None:
    assert check_field("owner") == "owner"
    assert check_field("fields.title") == "fields.title"
    assert check_field("title", {"title", "department"}) == "fields.title"
    # A core field stays itself, even when a mapping names it too.
    assert check_field("email", {"email", "title"}) == "email"
    with pytest.raises(UnknownField, match="or an app field: department, title"):
        check_field("titel", {"title", "department"})
    with pytest.raises(UnknownField, match=r"fields\.NAME$"):
        check_field("titel")


def test_since_reads_times_dates_and_durations_as_utc_text() -> None:
    assert since_time("2h", NOW) == (NOW - timedelta(hours=2)).isoformat()
    assert since_time("7d", NOW) == "2026-11-13T12:00:00+00:00"
    assert since_time("2026-11-20", NOW) == "2026-11-20"
    assert since_time("2026-11-20T10:00:00Z", NOW) == "2026-11-20T10:00:00+00:00"
    assert since_time("2026-11-20T10:00:00", NOW) == "2026-11-20T10:00:00+00:00"
    assert since_time("2026-11-20T12:00:00+02:00", NOW) == "2026-11-20T10:00:00+00:00"
    with pytest.raises(UserError, match="--since soon: expected a time"):
        since_time("soon", NOW)


def test_a_sync_fails_on_failed_and_on_what_fail_on_names() -> None:
    assert _failing_outcomes([]) == {"failed"}
    assert _failing_outcomes(["partial"]) == {"failed", "partial"}
    assert _failing_outcomes(["partial,limited"]) == {"failed", "partial", "limited"}
    with pytest.raises(UserError, match="--fail-on often: expected partial or limited"):
        _failing_outcomes(["often"])


def test_json_errors_are_asked_by_json_before_a_double_dash() -> None:
    assert json_requested(["status", "--json"])
    assert not json_requested(["status"])
    assert not json_requested(["history", "--", "--json"])  # a key that reads --json


def health(outcome: str | None, late: bool = False) -> dict[str, object]:
    last = None if outcome is None else {"run_id": "r-1", "outcome": outcome}
    return {"crm": "salesforce", "last_run": last, "late": late, "next_run": "2026-11-20T10"}


def test_status_check_fails_on_a_failed_or_dead_last_run_or_a_late_worker() -> None:
    assert problems(health(None)) == []
    assert problems(health("succeeded")) == []
    assert problems(health("partial")) == []
    assert problems(health("running")) == []
    assert problems(health("failed")) == ["salesforce: the last run r-1 failed"]
    assert problems(health("interrupted")) == ["salesforce: the last run r-1 interrupted"]
    assert problems(health("succeeded", late=True)) == [
        "salesforce: the worker is late: the next run was due at 2026-11-20T10"]


def test_an_untrusted_certificate_says_how_to_pass_one() -> None:
    said = untrusted("Pipedrive", "https://acme.example", None)
    assert said.startswith("the certificate of Pipedrive at https://acme.example is not "
                           "trusted")
    assert "`syncledger connect pipedrive ... --ca-cert CA.pem`" in said
    given = untrusted("Salesforce", "https://x.example", "/tmp/ca.pem")
    assert "not trusted by the CA given with --ca-cert (/tmp/ca.pem)" in given


def test_a_file_without_enabled_says_so_in_its_configuration() -> None:
    from syncledger.commands.config_file import configuration_from

    silent = configuration_from({"integration": {"crm": "salesforce"}}, "c.toml")
    assert not silent.enabled_given
    said = configuration_from({"integration": {"crm": "salesforce", "enabled": False}},
                              "c.toml")
    assert said.enabled_given and not said.settings.enabled
