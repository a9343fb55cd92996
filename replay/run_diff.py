"""Where a replayed run decides differently from the recorded one.

Both sides are read the same way: the events each caused, per aggregate, as facts (type and
data, without the time they were stored or their position). A record differs when its
facts differ; it is then said as actions (create, update, skip, none, with a reason) and
the values each side set, so a reader sees "owner: tm-alice -> tm-bob", not two event lists.
Bookkeeping (cursors, the run, its lease, the readings, email claims) is left out: it
follows from the decisions, or from where in the log they landed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from syncledger.domain.crm_readings import CrmReadings, RunMatches
from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.email_claim import EmailClaim
from syncledger.domain.integration import Integration
from syncledger.domain.person import Person
from syncledger.domain.run_lease import RunLease
from syncledger.domain.step_cursor import StepCursor
from syncledger.domain.steps import Step
from syncledger.domain.sync_run import SyncRun
from syncledger.projections.event_names import name_prefix
from syncledger.replay.event_kinds import (
    CONFLICT_RESOLVED,
    CONVERTED,
    CREATE_FAILED,
    CREATE_REQUESTED,
    DISCOVERED,
    EMAIL_CHANGED,
    LINK_DELETED,
    LINKED,
    OBSERVED,
    OWNER_REASSIGNED,
    PERSON_LINKED,
    RECORDED,
    REMOVED,
    RESTARTED,
    SEQUENCE_JOINED,
    SEQUENCE_LEFT,
    SKIPPED,
    TASK_PLANNED,
    UPDATED,
    WRITE_FAILED,
    WRITE_REQUESTED,
    WRITTEN,
)
from syncledger.replay.history import HIDDEN, plain

# Events are told apart by names derived from their classes (see event_names): a renamed
# event breaks here at import, not by silently reading as an unknown fact.
BOOKKEEPING = tuple(name_prefix(a) for a in (StepCursor, SyncRun, RunLease, CrmReadings,
                                             RunMatches, EmailClaim, Integration))
PERSON = name_prefix(Person)
# who the record is, not a decision
IDENTITY = (DISCOVERED, PERSON_LINKED, TASK_PLANNED)
# What a Discovered carries from issue 22 on (its first observation, the write of the create
# that made it, its person), read as the Observed, Written and PersonLinked facts a record
# recorded apart before, so that a run recorded in either shape compares equal to its replay
# in the other.
FIRST_OBSERVATION = ("content", "content_hash", "modstamp", "owner")
# From issue 22 a person made from a CRM record is recorded with its link; before, a Linked
# followed (after the Updated of its custom fields and opt-out, in the same save). Such a
# Linked is read as part of the Recorded, so that either shape compares equal to the other.
RECORDED_FACT, UPDATED_FACT, LINKED_FACT = (f"{name_prefix(Person)}{kind}"
                                            for kind in (RECORDED, UPDATED, LINKED))
WRITES = (CREATE_REQUESTED, CREATE_FAILED, WRITE_REQUESTED, WRITTEN, WRITE_FAILED)

Fact = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Identity:
    app: str | None  # the person or activity id
    crm: str | None  # the CRM record id
    stream: str | None  # Contact, Lead, Task, ...


def decisions(events: Iterable[tuple[int, Any]]) -> dict[UUID, list[Fact]]:
    """The facts of each aggregate a run decided about, in log order."""
    facts: dict[UUID, list[Fact]] = {}
    for _, event in events:
        name = type(event).__qualname__
        if name.startswith(BOOKKEEPING):
            continue
        data = {k: plain(v) for k, v in vars(event).items() if k not in HIDDEN}
        found = facts.setdefault(event.originator_id, [])
        if isinstance(event, CrmRecord.Discovered):
            found += _discovery_facts(name, data)
        elif name != LINKED_FACT or not _recorded_with(found, data):
            found.append((name, data))
    return facts


def _discovery_facts(name: str, data: dict[str, Any]) -> list[Fact]:
    """A Discovered as the facts it stands for, in the order they were recorded apart: the
    discovery, the first observation, the create's write (a Written with no intent of the
    record's own, hence no key), the person link."""
    owner = name.rsplit(".", 1)[0]
    observed = {k: data.pop(k, None) for k in FIRST_OBSERVATION}
    written = data.pop("written", None)
    person = data.pop("person", None)
    facts: list[Fact] = [(name, data)]
    if observed["content"] is not None:
        facts.append((f"{owner}.{OBSERVED}", observed))
    if written is not None:
        facts.append((f"{owner}.{WRITTEN}", {"key": "", "crm_record": data["record_id"],
                                             "content": written}))
    if person is not None:
        facts.append((f"{owner}.{PERSON_LINKED}", {"person": person}))
    return facts


def _recorded_with(found: list[Fact], linked: dict[str, Any]) -> bool:
    """Folds a person's Linked into the Recorded that began its facts, when nothing but
    Updated came between and the Recorded carries no link yet (the shape before issue 22);
    False when it is a link of its own."""
    if not found or found[0][0] != RECORDED_FACT or found[0][1].get("link") is not None \
            or any(name != UPDATED_FACT for name, _ in found[1:]):
        return False
    found[0][1]["link"] = {k: linked.get(k) for k in ("crm", "stream", "record_id", "url")}
    return True


def differing(recorded: dict[UUID, list[Fact]], now: dict[UUID, list[Fact]]) -> list[UUID]:
    return sorted(i for i in recorded.keys() | now.keys()
                  if recorded.get(i, []) != now.get(i, []))


def differences(recorded: dict[UUID, list[Fact]], now: dict[UUID, list[Fact]],
                identities: dict[UUID, Identity], plan: list[dict[str, Any]],
                steps: list[Step]) -> list[dict[str, Any]]:
    """One entry per record whose facts differ (a person and its CRM record together)."""
    groups: dict[str, list[UUID]] = {}
    for aggregate in differing(recorded, now):
        who = identities[aggregate]
        groups.setdefault(who.crm or who.app or aggregate.hex, []).append(aggregate)
    entries = []
    for ids in groups.values():
        app = next((identities[i].app for i in ids if identities[i].app), None)
        crm = next((identities[i].crm for i in ids if identities[i].crm), None)
        stream = next((identities[i].stream for i in ids if identities[i].stream), None)
        before = [f for i in ids for f in recorded.get(i, [])]
        after = [f for i in ids for f in now.get(i, [])]
        planned = [e for e in plan if (app is not None and e["record"]["app"] == app)
                   or (crm is not None and e["record"]["crm"] == crm)]
        was, was_values = side(before, [])
        is_, is_values = side(after, planned)
        names = sorted(was_values.keys() | is_values.keys())
        step = planned[0]["step"] if planned else _step_of(before + after, stream, steps)
        entries.append({
            "step": step, "record": {"app": app, "crm": crm}, "recorded": was, "now": is_,
            "changes": {n: [was_values.get(n), is_values.get(n)] for n in names
                        if was_values.get(n) != is_values.get(n)}})
    return sorted(entries, key=lambda e: (e["step"] or "", e["record"]["app"] or "",
                                          e["record"]["crm"] or ""))


def side(facts: list[Fact], planned: list[dict[str, Any]]
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """({"action", "reason", "events"}, the values set) of one side of a record. A skip
    that left no fact (outbound skips are counted, not kept per record) is taken from the
    replay's plan."""
    values = fold(facts)
    kinds = {name.rsplit(".", 1)[-1] for name, _ in facts}
    reason = values.get("skipped") or values.get("error")
    if kinds & {RECORDED, RESTARTED} or str(values.get("write", "")).startswith("create"):
        action = "create"
    elif "skipped" in values:
        action = "skip"
    elif any(not name.startswith("seen.") for name in values):
        action = "update"
    else:
        action = "none"
        skipped = next((e for e in planned if e["action"] == "skip"), None)
        if skipped is not None:
            action, reason = "skip", skipped["reason"]
    return {"action": action, "reason": reason,
            "events": [name for name, _ in facts]}, values


def fold(facts: list[Fact]) -> dict[str, Any]:
    """The values the facts set, by name: app fields as they are (`owner`, `fields.title`),
    CRM fields written as `Lead.Company`, CRM fields observed as `seen.Company`."""
    values: dict[str, Any] = {}
    for name, data in facts:
        owner, kind = name.rsplit(".", 1) if "." in name else ("", name)
        if name.startswith(PERSON):
            _person_fact(values, kind, data)
        elif kind == OBSERVED:
            _spread(values, data.get("content") or {}, "seen.")
            values["seen.OwnerId"] = data.get("owner")
        elif kind == SKIPPED:
            detail = data.get("detail")
            values["skipped"] = f"{data['reason']} ({detail})" if detail else data["reason"]
        elif kind == CONVERTED:
            values["converted"] = data.get("contact_id") or True
        elif kind == REMOVED:
            values["deleted"] = data.get("master_record_id") or True
        elif kind == WRITE_REQUESTED:
            values["write"] = f"{data['action']} {owner}"
            _spread(values, data.get("content") or {}, f"{owner}.")
        elif kind == WRITTEN:
            values["written"] = data.get("crm_record")
        elif kind == WRITE_FAILED:
            values["error"] = f"{data['code']}: {data['message']}"
        elif kind not in IDENTITY:
            values[name] = data
    return values


def _person_fact(values: dict[str, Any], kind: str, data: dict[str, Any]) -> None:
    if kind in (RECORDED, RESTARTED):
        values.update(email=data.get("email"), owner=data.get("owner"))
        _spread(values, data.get("values") or {})
        _spread(values, data.get("attributes") or {})
        link = data.get("link")
        if link:
            values[f"link.{link['stream']}"] = link["record_id"]
    elif kind == UPDATED:
        _spread(values, data.get("values") or {})
        _spread(values, data.get("attributes") or {})
    elif kind == EMAIL_CHANGED:
        values["email"] = data["email"]
    elif kind == OWNER_REASSIGNED:
        values["owner"] = data["owner"]
    elif kind == SEQUENCE_JOINED:
        values["sequence"] = {"id": data["sequence"], "step": data["step"],
                              "ignore_step_delay": data["ignore_step_delay"]}
    elif kind == SEQUENCE_LEFT:
        values["sequence"] = None
    elif kind == LINKED:
        values[f"link.{data['stream']}"] = data["record_id"]
    elif kind == LINK_DELETED:
        values[f"link.{data['stream']}"] = f"{data['record_id']} (deleted)"
    elif kind == CONFLICT_RESOLVED:
        values[f"conflict.{data['field']}"] = data["winner"]
    elif kind == CREATE_REQUESTED:
        values["write"] = f"create {data['stream']}"
        _spread(values, data.get("content") or {}, f"{data['stream']}.")
    elif kind == CREATE_FAILED:
        values["error"] = f"{data['code']}: {data['message']}"
    else:
        values[f"{PERSON}{kind}"] = data


def _spread(values: dict[str, Any], data: dict[str, Any], prefix: str = "") -> None:
    for key, value in data.items():
        if key == "fields" and isinstance(value, dict):
            for name, field_value in value.items():
                values[f"{prefix}fields.{name}"] = field_value
        else:
            values[f"{prefix}{key}"] = value


def _step_of(facts: list[Fact], stream: str | None, steps: list[Step]) -> str | None:
    """The step a record's facts came from, when the replay planned nothing for it."""
    outbound = any(name.rsplit(".", 1)[-1] in WRITES for name, _ in facts)
    for step in steps:
        if step.is_people and step.crm_object == stream and step.inbound != outbound:
            return step.name
    return None
