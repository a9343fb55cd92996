"""`WHERE SystemModstamp ...` queries are answered from the (SystemModstamp, Id) index: the
same rows, in the same order, as a scan of every record would give, whatever moved the
records' stamps (loads, updates, deletes, merges, a rolled-back allOrNone write)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from conftest import Org

from syncledger.emulator.salesforce.stamps import StampIndex

CONTACTS = 60


def stamp(minute: int) -> str:
    return f"2026-03-01T{minute // 60:02d}:{minute % 60:02d}:00.000+0000"


def expected(org: Org, low: str | None, high: str | None, deleted: bool) -> list[str]:
    """By brute force from the dump: the Contacts within [low, high], ordered."""
    rows = [r for r in org.admin("GET", "dump")["Contact"]
            if (deleted or not r.get("IsDeleted"))
            and (low is None or r["SystemModstamp"] >= low)
            and (high is None or r["SystemModstamp"] <= high)]
    return [r["Id"] for r in sorted(rows, key=lambda r: (r["SystemModstamp"], r["Id"]))]


def queried(org: Org, where: str, deleted: bool) -> list[str]:
    soql = f"SELECT Id FROM Contact{' WHERE ' + where if where else ''} " \
        "ORDER BY SystemModstamp, Id"
    answer: dict[str, Any] = org.sf.query_all(soql, include_deleted=deleted)
    return [r["Id"] for r in answer["records"]]


def test_range_queries_match_a_full_scan_after_every_kind_of_write(org: Org) -> None:
    rng = random.Random(6)
    # several records share a stamp; loaded out of order
    org.load({"Contact": [{"LastName": f"C{n}", "Email": f"c{n}@x.example",
                           "SystemModstamp": stamp(rng.randrange(30))}
                          for n in rng.sample(range(CONTACTS), CONTACTS)]})
    ids = [r["Id"] for r in org.admin("GET", "dump")["Contact"]]
    org.admin("POST", "clock", {"now": "2026-03-01T01:00:00Z"})
    for record_id in rng.sample(ids, 10):
        org.sf.Contact.update(record_id, {"Title": "moved on"})
    org.admin("POST", "clock", {"advance": 60})
    org.load({"Contact": [{"Id": ids[0], "LastName": "Edited in the CRM"},
                          {"Id": ids[1], "SystemModstamp": stamp(5)}]})  # moved back
    org.sf.Contact.delete(ids[2])
    org.admin("POST", "merge", {"object": "Contact", "master_id": ids[3],
                                "merged_ids": [ids[4]]})
    failed = org.sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": True, "records": [
            {"attributes": {"type": "Contact"}, "LastName": "Rolled back"},
            {"attributes": {"type": "Contact"}}]})  # no LastName: the whole call fails
    assert [r["success"] for r in failed] == [False, False]
    org.admin("POST", "clock", {"advance": 60})
    org.sf.Contact.create({"LastName": "Late", "Email": "late@x.example"})

    bounds = [(stamp(10), None, f"SystemModstamp >= {stamp(10)[:19]}Z"),
              (stamp(10), None, f"SystemModstamp > {stamp(9)[:16]}:59Z"),
              (None, stamp(20), f"SystemModstamp <= {stamp(20)[:19]}Z"),
              (stamp(5), stamp(5), f"SystemModstamp = {stamp(5)[:19]}Z"),
              (stamp(3), stamp(25), f"SystemModstamp >= {stamp(3)[:19]}Z AND "
                                    f"SystemModstamp <= {stamp(25)[:19]}Z"),
              ("2026-03-01T01:00:00.000+0000", None,
               "SystemModstamp >= 2026-03-01T01:00:00Z AND LastName != null"),
              (None, None, "SystemModstamp >= 2026-03-01T00:00:00Z OR LastName = 'x'"),
              (None, None, "")]  # the whole index, in its order
    for low, high, where in bounds:
        for deleted in (False, True):
            assert queried(org, where, deleted) == expected(org, low, high, deleted), where


@pytest.mark.parametrize("pending", [3, 500])  # merged one by one, or by one sort
def test_the_index_skips_keys_a_record_left_behind(pending: int) -> None:
    index = StampIndex()
    table: dict[str, dict[str, Any]] = {}
    for n in range(pending):
        record_id = f"003{n:015d}"
        table[record_id] = {"Id": record_id, "SystemModstamp": stamp(n % 50)}
        index.moved(record_id, None, stamp(n % 50))
    first = next(iter(table))
    table[first] = {**table[first], "SystemModstamp": stamp(59)}
    index.moved(first, stamp(0), stamp(59))
    table[first] = {**table[first], "SystemModstamp": stamp(0)}  # and back again
    index.moved(first, stamp(59), stamp(0))
    found = [r["Id"] for r in index.between(table, stamp(0), stamp(0))]
    assert found == sorted(r for r, v in table.items() if v["SystemModstamp"] == stamp(0))
    assert [r["Id"] for r in index.between(table, stamp(59), None)] == []
