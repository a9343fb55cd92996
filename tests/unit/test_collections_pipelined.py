"""collections_pipelined without a CRM: a replay answers it as the Composite calls it stands
for, what cannot be sent is refused before anything goes, and tried_once is the calling
thread's alone."""

from __future__ import annotations

import threading

import pytest

from syncledger.adapters.recorded_answers import RecordedAnswers, WriteAnswers
from syncledger.adapters.salesforce.client import (
    COLLECTION_SIZE,
    KEY_FIELD,
    SalesforceClient,
    SalesforceCredentials,
    collections_call,
)
from syncledger.adapters.salesforce.replay_client import ReplayClient


def replay() -> ReplayClient:
    return ReplayClient(RecordedAnswers(users=None, lengths={}, lead_statuses=None, pulls={},
                                        deletions={}, matches=None,
                                        writes=WriteAnswers(KEY_FIELD)))


def test_a_replay_answers_each_record_and_counts_each_composite_call_once() -> None:
    client = replay()
    client.answers.writes.add({"id": "00Q000000000001AAA", "success": True, "errors": [],
                               "created": False}, key="k-3-1")
    calls = [collections_call("upsert", "Lead", [{KEY_FIELD: f"k-{c}-{n}", "LastName": "L"}
                                                 for n in range(2)], True, KEY_FIELD)
             for c in range(11)]
    results = client.collections_pipelined(calls)
    assert [len(r) for r in results] == [2] * 11
    assert results[3][1]["id"] == "00Q000000000001AAA"
    assert all(r["success"] for call in results for r in call)
    assert dict(client.calls) == {"collections": 3}


def test_what_cannot_be_sent_is_refused_before_anything_goes() -> None:
    client = SalesforceClient(SalesforceCredentials(instance_url="https://127.0.0.1:9",
                                                    access_token="t"))
    too_many = [collections_call("create", "Lead", [{"LastName": "L"}], True)] * 4 + [
        collections_call("create", "Lead", [{"LastName": "L"}] * (COLLECTION_SIZE + 1), True)]
    with pytest.raises(ValueError, match="at most 200 records"):
        client.collections_pipelined(too_many)
    with pytest.raises(ValueError, match="in_flight"):
        client.collections_pipelined(too_many[:1], in_flight=0)
    assert client.collections_pipelined([]) == []
    assert not client.calls


def test_tried_once_is_the_calling_threads_alone() -> None:
    client = SalesforceClient(SalesforceCredentials(instance_url="https://127.0.0.1:9",
                                                    access_token="t"))
    inside, seen = threading.Event(), threading.Event()
    other: list[int] = []

    def elsewhere() -> None:
        inside.wait()
        other.append(getattr(client._local, "attempts", None) or client.attempts)
        seen.set()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with client.tried_once():
        assert client._local.attempts == 1
        inside.set()
        seen.wait()
    thread.join()
    assert other == [SalesforceClient.attempts]
