"""Projection positions, as a SQLAlchemy implementation of the library's TrackingRecorder.

The primary key is (projection, notification id), and each batch records both its first and
its last position, so a second writer processing the same events fails instead of
double-counting."""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from sqlalchemy import BigInteger, Column, Connection, String, Table, func, select
from sqlalchemy.exc import IntegrityError as SQLAlchemyIntegrityError

from syncledger.adapters.database import Database, metadata

projection_tracking = Table(
    "projection_tracking", metadata,
    Column("projection", String(100), primary_key=True),
    Column("notification_id", BigInteger, primary_key=True, autoincrement=False),
)


class SQLAlchemyTrackingRecorder(TrackingRecorder):
    def __init__(self, database: Database) -> None:
        self.database = database

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.database.writer.begin() as connection:
            record_positions(connection, tracking.application_name,
                             [tracking.notification_id])

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.database.reader.connect() as connection:
            return max_position(connection, application_name)


def max_position(connection: Connection, projection: str) -> int | None:
    value = connection.scalar(select(func.max(projection_tracking.c.notification_id))
                              .where(projection_tracking.c.projection == projection))
    return None if value is None else int(value)


def record_positions(connection: Connection, projection: str, positions: list[int]) -> None:
    """Record processed positions in the caller's transaction; refuse one at or below the
    highest recorded (it was processed already, or a gap is being filled in)."""
    highest = max_position(connection, projection)
    if highest is not None and min(positions) <= highest:
        raise IntegrityError(
            f"projection {projection}: position {min(positions)} is not after {highest}")
    try:
        connection.execute(projection_tracking.insert(),
                           [{"projection": projection, "notification_id": p}
                            for p in sorted(set(positions))])
    except SQLAlchemyIntegrityError as error:
        raise IntegrityError(str(error)) from error


def forget_positions(connection: Connection, projection: str) -> None:
    connection.execute(projection_tracking.delete()
                       .where(projection_tracking.c.projection == projection))
