"""The library's PostgreSQL application recorder, sending the events of a save as one binary
array instead of text.

The library passes a save's rows (originator, version, topic, state) as one text array: each
state is hex-encoded, escaped once for its row and again for the array, and the server parses
all of it back. That costs the client and the server more than the insert itself, in
proportion to the bytes, and our events carry their personal fields encrypted and base64
encoded: about twice the size of plain ones. In binary the rows go as they are (a 20,000
person import on PostgreSQL: 1.3 s of its 3.2 s in the insert, 0.35 s in binary).

Chosen through the library's own setting (APPLICATION_RECORDER_TOPIC): table, locking,
notification ids and every other statement stay the library's."""

from __future__ import annotations

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier


class BinaryInsertRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # The library's statement, with a binary placeholder (psycopg's %b) for the rows.
        self.insert_events_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state "
            "FROM unnest(%b::{schema}.{row}[]) RETURNING notification_id").format(
            schema=Identifier(datastore.schema), table=Identifier(events_table_name),
            row=Identifier(self.stored_event_type_name))
