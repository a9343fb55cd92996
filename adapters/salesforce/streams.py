"""The sObjects the engine reads and writes, each with what is particular to it: how its
pulls are ordered, what a pull and an email match read of it besides the step's fields,
where a record holds our idempotency key, and which of its picklists another object holds.

The gateway and the SOQL it sends ask these instead of comparing object names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The external id field on Lead, Contact, Account and Task that holds our idempotency key.
KEY_FIELD = "Syncledger_Key__c"


@dataclass(frozen=True)
class SalesforceStream:
    name: str
    id_prefix: str  # the three characters every record id of the object begins with
    # Where a record holds our idempotency key: all of `key_field`, an external id that a
    # Collections create upserts on; or, on an object that takes no custom field, the end of
    # `key_field`'s text (`... [key]`), found with LIKE and never upserted on.
    key_field: str = KEY_FIELD
    key_is_suffix: bool = False
    # Pulls go in (replication_key, tie_breaker) order: records sharing a stamp are never
    # missed when a pull resumes after the last one read.
    replication_key: str = "SystemModstamp"
    tie_breaker: str = "Id"
    pulled: tuple[str, ...] = ()  # read by every pull, after the step's own fields
    matched: tuple[str, ...] = ("Id", "Email")  # read by a match on email
    # Picklists whose values are the records of another object (field, object), read there
    # because they carry what describe does not say.
    picklist_objects: tuple[tuple[str, str], ...] = ()

    @property
    def upserts(self) -> bool:
        """Whether a create is an upsert on the key field (where the org has the field)."""
        return not self.key_is_suffix

    @property
    def order(self) -> str:
        """A pull's ORDER BY."""
        return f"{self.replication_key}, {self.tie_breaker}"

    def key_pattern(self, key: str) -> str:
        """What LIKE finds a suffixed key by."""
        return f"%[{key}]"

    def key_of(self, record: Mapping[str, Any]) -> str:
        """The idempotency key the record holds ("" when none)."""
        held = str(record.get(self.key_field) or "")
        if not self.key_is_suffix:
            return held
        _, bracket, key = held.rstrip().rpartition("[")
        return key[:-1].lower() if bracket and key.endswith("]") else ""

    def picklist_object(self, field: str) -> str | None:
        """The object whose records are the field's values, when it is not describe."""
        return dict(self.picklist_objects).get(field)


CONTACT = SalesforceStream("Contact", id_prefix="003")
# A pull of Leads reads their Status (ours to write too, with the status steps: observing it
# keeps our own Status writes from looking like CRM changes) and whether and into what each
# was converted; a match reads whether the Lead found was converted.
LEAD = SalesforceStream(
    "Lead", id_prefix="00Q",
    pulled=("Status", "IsConverted", "ConvertedContactId", "ConvertedAccountId"),
    matched=("Id", "Email", "IsConverted"),
    # The LeadStatus records say which values are converted.
    picklist_objects=(("Status", "LeadStatus"),))
ACCOUNT = SalesforceStream("Account", id_prefix="001")
TASK = SalesforceStream("Task", id_prefix="00T")
NOTE = SalesforceStream("Note", id_prefix="002", key_field="Title", key_is_suffix=True)

STREAMS: Mapping[str, SalesforceStream] = {
    stream.name: stream for stream in (CONTACT, LEAD, ACCOUNT, TASK, NOTE)}


def named(name: str) -> SalesforceStream:
    try:
        return STREAMS[name]
    except KeyError:
        raise ValueError(f"the Salesforce adapter neither reads nor writes {name}") from None


def made_up_id(sobject: str, marker: str, number: int) -> str:
    """A record id for a write that was never sent (a dry run's, a replay's): the object's
    own prefix, then the marker that says so."""
    prefix = STREAMS[sobject].id_prefix if sobject in STREAMS else "000"
    return f"{prefix}{marker}{number:09d}"
