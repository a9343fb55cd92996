"""The SOQL the engine sends: incremental pulls in each object's (replication key, tie-breaker)
order, deletions, and email and key lookups batched within Salesforce's 16 KB request-line
limit."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from urllib.parse import quote as url_quote

from syncledger.adapters.salesforce import streams
from syncledger.domain.steps import Step, read_fields

# Leaves room in the 16,384-byte request line for the URL and the rest of the query,
# once the query is percent-encoded (an email grows by a third at most).
EMAIL_BATCH_CHARS = 9000
# The same room for a query measured as sent: percent-encoded, every byte counted.
ENCODED_BATCH_CHARS = 12_000


def soql_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def salesforce_datetime(moment: datetime) -> str:
    """As Salesforce writes a datetime field: 2026-11-01T10:00:00.000+0000."""
    utc = moment.astimezone(UTC)
    return f"{utc.strftime('%Y-%m-%dT%H:%M:%S')}.{utc.microsecond // 1000:03d}+0000"


def parse_salesforce_datetime(value: str) -> datetime:
    """Salesforce writes 2026-11-01T10:00:00.000+0000: ISO 8601, which Python 3.11 reads
    (strptime, once a record, cost as much as the rest of reading its page)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        raise ValueError(f"not a Salesforce datetime: {value!r}")
    return parsed


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def changed_since(sobject: str, fields: Sequence[str], since: datetime | None) -> str:
    stream = streams.named(sobject)
    where = f" WHERE {stream.replication_key} >= {soql_datetime(since)}" if since else ""
    return (f"SELECT {', '.join(dict.fromkeys(fields))} FROM {sobject}{where} "
            f"ORDER BY {stream.order}")


def inbound_fields(step: Step) -> list[str]:
    """What an inbound people step reads of each record: its mapped and filtered fields,
    and the ones the engine itself needs."""
    return pulled_fields(step.crm_object, read_fields(step))


def pulled_fields(sobject: str, fields: Sequence[str]) -> list[str]:
    """A pull's fields: identity, replication key, creation, owner and opt-out, the step's
    own, and what the object's every pull reads (a Lead's Status and conversion)."""
    stream = streams.named(sobject)
    return ["Id", stream.replication_key, "CreatedDate", "OwnerId", "HasOptedOutOfEmail",
            *fields, *stream.pulled]


def deleted_since(sobject: str, since: datetime) -> str:
    stream = streams.named(sobject)
    return (f"SELECT Id, MasterRecordId, {stream.replication_key} FROM {sobject} "
            f"WHERE IsDeleted = true AND {stream.replication_key} >= {soql_datetime(since)} "
            f"ORDER BY {stream.order}")


def by_emails(sobject: str, fields: Sequence[str], emails: Sequence[str]) -> Iterator[str]:
    """One query per batch of emails that fits the request line: never one per record."""
    batch: list[str] = []
    size = 0
    for email in emails:
        quoted = quote(email)
        if batch and size + len(quoted) > EMAIL_BATCH_CHARS:
            yield _email_query(sobject, fields, batch)
            batch, size = [], 0
        batch.append(quoted)
        size += len(quoted) + 1
    if batch:
        yield _email_query(sobject, fields, batch)


def _email_query(sobject: str, fields: Sequence[str], quoted: list[str]) -> str:
    return (f"SELECT {', '.join(dict.fromkeys(fields))} FROM {sobject} "
            f"WHERE Email IN ({','.join(quoted)})")


def by_keys(sobject: str, fields: Sequence[str], key_field: str,
            keys: Sequence[str]) -> Iterator[str]:
    """`key_field IN (...)`, as many keys a query as fit the request line."""
    head = f"SELECT {', '.join(dict.fromkeys(fields))} FROM {sobject} WHERE {key_field} IN ("
    return batched(head, [quote(key) for key in keys], ",", ")")


def any_of(sobject: str, fields: Sequence[str], conditions: Sequence[str]) -> Iterator[str]:
    """Records meeting any of the conditions (each a parenthesised or single comparison),
    OR-ed together, as many a query as fit the request line."""
    head = f"SELECT {', '.join(dict.fromkeys(fields))} FROM {sobject} WHERE "
    return batched(head, conditions, " OR ")


def batched(head: str, parts: Iterable[str], joiner: str, tail: str = "") -> Iterator[str]:
    """head + parts joined + tail, split into as many queries as keep each one, once
    percent-encoded, within ENCODED_BATCH_CHARS: never one query per part."""
    fixed = _encoded_length(head + tail)
    batch: list[str] = []
    size = fixed
    for part in parts:
        cost = _encoded_length(part + joiner)
        if batch and size + cost > ENCODED_BATCH_CHARS:
            yield head + joiner.join(batch) + tail
            batch, size = [], fixed
        batch.append(part)
        size += cost
    if batch:
        yield head + joiner.join(batch) + tail


def _encoded_length(text: str) -> int:
    return len(url_quote(text, safe=""))


def emails_in(query: str) -> list[str] | None:
    """The emails of a `by_emails` query, unquoted; None for any other query."""
    where = query.partition(" WHERE Email IN (")[2]
    if not where:
        return None
    return [_unquote(quoted) for quoted in _QUOTED.findall(where)]


def object_of(query: str) -> str | None:
    """The object a SELECT reads (`FROM Lead`)."""
    found = _FROM.search(query)
    return found.group(1) if found else None


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_FROM = re.compile(r"\bFROM\s+(\w+)")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
