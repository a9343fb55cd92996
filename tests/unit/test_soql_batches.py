"""Batched lookups stay within Salesforce's 16 KB request line once percent-encoded, and
never spend one query per record."""

from __future__ import annotations

from urllib.parse import quote

from syncledger.adapters.salesforce import soql

LINE = 16_384
URL = "https://example.my.salesforce.com/services/data/v59.0/query?q="


def _fits(query: str) -> bool:
    return len("GET " + URL + quote(query, safe="") + " HTTP/1.1") <= LINE


def test_keys_are_looked_up_a_few_hundred_a_query() -> None:
    keys = [f"{n:032x}" for n in range(1000)]
    queries = list(soql.by_keys("Task", ["Id", "Syncledger_Key__c"], "Syncledger_Key__c",
                                keys))
    assert 1 < len(queries) <= 5
    assert all(_fits(q) for q in queries)
    assert sum(q.count("'") // 2 for q in queries) == 1000
    assert queries[0].startswith("SELECT Id, Syncledger_Key__c FROM Task WHERE "
                                 "Syncledger_Key__c IN ('")


def test_conditions_are_or_ed_within_the_line_even_when_encoding_grows_them() -> None:
    conditions = [f"Title LIKE {soql.quote('%[' + f'{n:032x}' + ']')}" for n in range(600)]
    wide = [f"Subject = {soql.quote('é' * 200 + str(n))}" for n in range(60)]
    for parts in (conditions, wide):
        queries = list(soql.any_of("Note", ["Id", "Title"], parts))
        assert 1 < len(queries) < len(parts)
        assert all(_fits(q) for q in queries)
        assert sum(q.count(" OR ") + 1 for q in queries) == len(parts)
