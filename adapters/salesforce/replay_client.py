"""A Salesforce client for `replay --run`: it answers a past run's questions from what that
run recorded (replay/run_answers.py rebuilds them from the log as the plain data of
adapters/recorded_answers.py, keyed as ANSWER_KEYS says) and never calls the CRM.

Queries are answered with the records the run observed, writes with the results the run
recorded for them. What the record cannot answer is answered as empty, or a write as a
success that was never sent, and said in `gaps`, so the report can tell a difference that
comes from today's code from one that comes from a missing answer."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import Any

from syncledger.adapters.call_budget import CallBudget
from syncledger.adapters.crm_errors import CrmFatal
from syncledger.adapters.recorded_answers import (
    AnswerKeys,
    Record,
    RecordedAnswers,
    paged,
)
from syncledger.adapters.salesforce import soql
from syncledger.adapters.salesforce.client import (
    IN_FLIGHT,
    CollectionsCall,
    SalesforceClient,
    SalesforceCredentials,
)
from syncledger.adapters.salesforce.streams import KEY_FIELD, STREAMS, made_up_id
from syncledger.domain.crm_readings import match_key
from syncledger.domain.steps import Step


class ReplayClient(SalesforceClient):
    # It answers from memory: nothing to hide, and its answers (and gaps) come in the run's
    # own order.
    side_by_side = False

    def __init__(self, answers: RecordedAnswers) -> None:
        # Not the parent's: no session and no connection, so nothing can reach the CRM.
        self.credentials = SalesforceCredentials(instance_url="replay:", access_token="")
        self.on_refresh = None
        self.budget = CallBudget()  # counted, never limited: a replay spends nothing
        self._prepare_threads()
        self.answers = answers
        self.gaps: list[str] = []  # what the record could not answer, in words
        self._made_up = count(1)

    def call(self, kind: str, action: Any) -> Any:
        raise CrmFatal(f"a replay never calls the CRM ({kind})")

    def refresh(self) -> None:
        raise CrmFatal("a replay never calls the CRM (auth)")

    def api_limit(self) -> tuple[int, int] | None:
        return None  # no api_budget: the replay spends nothing

    def describe(self, sobject: str) -> dict[str, Any]:
        self.calls["describe"] += 1
        lengths = self.answers.lengths.get(sobject)
        if lengths is None:
            self._gap(f"the field lengths of {sobject} were not recorded: nothing is "
                      "truncated")
            lengths = {}
        return {"name": sobject, "fields": [{"name": name, "length": length}
                                            for name, length in lengths.items()]}

    def query(self, soql_text: str, include_deleted: bool = False
              ) -> Iterator[list[dict[str, Any]]]:
        self.calls["query"] += 1
        return iter(self._pages(soql_text, include_deleted))

    def _pages(self, query: str, include_deleted: bool) -> list[list[Record]]:
        sobject = soql.object_of(query) or ""
        emails = soql.emails_in(query)
        if emails is not None:
            return [self._matches(sobject, emails, "IsConverted" in query)]
        if sobject == "User":
            return [self._recorded(self.answers.users, "the CRM's users (owner email "
                                   "matching): answered as none")]
        if sobject == "LeadStatus":
            return [self._recorded(self.answers.lead_statuses, "the Lead Status picklist: "
                                   "answered as empty")]
        if include_deleted and "IsDeleted = true" in query:
            return [list(self.answers.deletions.get(sobject, []))]
        pull = self.answers.pulls.get(select_part(query))
        if pull is None:
            self._gap(f"not recorded, answered as no rows: {query[:120]}")
            return [[]]
        full = " WHERE " not in query  # a first or a reset pull returns every record
        return paged(pull, full)

    def _matches(self, sobject: str, emails: list[str], converted: bool) -> list[Record]:
        if self.answers.matches is None:
            self._gap("outbound email matches were not recorded by this run: answered as "
                      "no match")
            return []
        found = self.answers.matches.get(sobject)
        if found is None:
            self._gap(f"the run asked no email match of {sobject}: answered as no match")
            return []
        rows = []
        for email in emails:
            for record_id, is_converted in found.get(match_key(email), []):
                row: Record = {"Id": record_id, "Email": email}
                if converted:
                    row["IsConverted"] = is_converted
                rows.append(row)
        return rows

    def _recorded(self, rows: list[Record] | None, missing: str) -> list[Record]:
        if rows is None:
            self._gap(f"not recorded by this run: {missing}")
            return []
        return [dict(r) for r in rows]

    def collections_pipelined(self, calls: list[CollectionsCall], in_flight: int = IN_FLIGHT
                              ) -> list[list[dict[str, Any]]]:
        """Answered as the Composite calls the real client would send, in turn, each
        counted as the one call it is."""
        return self.composites_in_turn(calls)

    def _composite(self, calls: list[CollectionsCall]) -> list[list[dict[str, Any]]]:
        """Answered as the collections it carries, counted as the one call it is."""
        results = [self._collections(c.method, c.path, c.sobject, c.records, c.auto_assign)
                   for c in calls]
        self.calls["collections"] -= len(calls) - 1
        return results

    def _collections(self, method: str, path: str, sobject: str,
                     records: list[dict[str, Any]], auto_assign: bool) -> list[dict[str, Any]]:
        self.calls["collections"] += 1
        results = []
        for body in records:
            held_by = STREAMS.get(sobject)
            key = held_by.key_of(body) if held_by else str(body.get(KEY_FIELD) or "")
            answer = self.answers.writes.answer_for(body, key)
            if answer is None:
                self._gap("writes today's code makes that the run did not: answered as "
                          "succeeded, never sent (made-up ids contain REPLAY)")
                made_up = made_up_id(sobject, "REPLAY", next(self._made_up))
                answer = {"id": body.get("Id") or made_up, "success": True, "errors": [],
                          "created": "Id" not in body}
            results.append(dict(answer))
        return results

    def _gap(self, text: str) -> None:
        if text not in self.gaps:
            self.gaps.append(text)


def pull_key(step: Step) -> str:
    """What an inbound step's pull is recorded under: its query's `SELECT ... FROM Object`."""
    return select_part(soql.changed_since(step.crm_object, soql.inbound_fields(step), None))


# How a Salesforce run's answers are keyed (the factory gives it to replay/run_answers.py).
ANSWER_KEYS = AnswerKeys(key_field=KEY_FIELD, pull_key=pull_key,
                         modstamp=soql.salesforce_datetime)


def select_part(query: str) -> str:
    """`SELECT ... FROM Object`: which inbound step asks, whatever its watermark."""
    return query.split(" WHERE ")[0].split(" ORDER BY ")[0].strip()
