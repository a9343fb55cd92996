"""The names, within their aggregates, of the events the replays read (a record's write
events and a task's are routed as one), derived from the event classes (see
projections/event_names.py): a renamed event breaks here at import, not by silently reading
as an unknown fact."""

from __future__ import annotations

from syncledger.domain.crm_record import CrmRecord
from syncledger.domain.person import Person
from syncledger.domain.step_cursor import StepCursor
from syncledger.domain.task import Task
from syncledger.projections.event_names import events_of, own_name

_person, _cursor, _task = events_of(Person), events_of(StepCursor), events_of(Task)
_record = events_of(CrmRecord)
# A person's events.
RECORDED = own_name(_person.Recorded)
RESTARTED = own_name(_person.Restarted)
UPDATED = own_name(_person.Updated)
EMAIL_CHANGED = own_name(_person.EmailChanged)
OWNER_REASSIGNED = own_name(_person.OwnerReassigned)
SEQUENCE_JOINED = own_name(_person.SequenceJoined)
SEQUENCE_LEFT = own_name(_person.SequenceLeft)
LINKED = own_name(_person.Linked)
LINK_DELETED = own_name(_person.LinkDeleted)
CONFLICT_RESOLVED = own_name(_person.ConflictResolved)
CREATE_REQUESTED = own_name(_person.CrmCreateRequested)
CREATE_FAILED = own_name(_person.CrmCreateFailed)
# A step cursor's.
INBOUND_ADVANCED = own_name(_cursor.InboundAdvanced)
RECONFIGURED = own_name(_cursor.Reconfigured)
# A CRM record's (and a task's writes, named alike). A record's Discovered may carry its
# first observation and person link (issue 22).
DISCOVERED = own_name(CrmRecord.Discovered)
OBSERVED = own_name(_record.Observed)
SKIPPED = own_name(_record.Skipped)
PERSON_LINKED = own_name(_record.PersonLinked)
CONVERTED = own_name(_record.Converted)
REMOVED = own_name(_record.Removed)
WRITE_REQUESTED = own_name(_record.WriteRequested, _task.WriteRequested)
WRITTEN = own_name(_record.Written, _task.Written)
WRITE_FAILED = own_name(_record.WriteFailed, _task.WriteFailed)
TASK_PLANNED = own_name(_task.Planned)
