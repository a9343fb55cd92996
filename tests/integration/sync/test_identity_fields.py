"""An identity field is never truncated: an email longer than the CRM's field would be cut
into another address and linked as if it matched."""

from __future__ import annotations

from pathlib import Path

from sync_support import connected_org, person

from syncledger.adapters.event_store import SyncLedger


def test_an_email_longer_than_the_crm_field_is_skipped_not_cut(
        sqlite_store: SyncLedger, tmp_path: Path) -> None:
    # Given an app person whose email (81 characters) is longer than Lead.Email (80)
    long_email = "a" * 69 + "@example.com"
    assert len(long_email) == 81
    with connected_org(sqlite_store, tmp_path) as org:
        org.import_lines([person(1, email=long_email), person(2)])
        # When it syncs out
        report = org.sync()
        # Then that person is skipped with the reason, the other goes out, nothing is cut
        assert [lead["Email"] for lead in org.dump("Lead")] == ["person2@example.com"]
        reasons = report.skip_reasons
        assert reasons == {"Email longer than the CRM's 80 characters (an identity is never "
                           "truncated)": 1}
        assert org.people()[long_email]["links"] == []
