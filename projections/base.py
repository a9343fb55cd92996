"""What every projection is: its tables (live, or shadow for a rebuild) and a batch process.

Each projection writes its rows and its tracking position in one transaction, many events a
transaction, so a crash never leaves a half-counted batch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from sqlalchemy import Connection, MetaData, Table

from syncledger.adapters.log_reader import LogTable

SHADOW = "__shadow"

Batch = list[tuple[int, Any]]  # (notification id, domain event)


class Projection(ABC):
    name: str
    # Topic prefixes of the events it reads (None: all); the others are never decoded.
    topics: tuple[str, ...] | None = None
    # An in-database projection reads the plain parts of stored events with SQL, by
    # position range (`process_range`): nothing is read out, decoded or decrypted.
    in_database = False

    def __init__(self, metadata: MetaData, suffix: str = "") -> None:
        self.suffix = suffix
        self._wanted: dict[str, bool] = {}
        self.tables: dict[str, Table] = self.define(metadata, suffix)

    @abstractmethod
    def define(self, metadata: MetaData, suffix: str) -> dict[str, Table]:
        """The projection's tables, each named `<logical name><suffix>`."""

    def process(self, connection: Connection, batch: Batch) -> None:
        """Apply a batch of events in the caller's transaction."""
        raise NotImplementedError

    def process_range(self, connection: Connection, log: LogTable, first: int,
                      last: int) -> None:
        """Apply the events at positions first..last, in the caller's transaction."""
        raise NotImplementedError

    def wants(self, topic: str) -> bool:
        # Asked for every event of every batch, about a few dozen topics.
        wanted = self._wanted.get(topic)
        if wanted is None:
            wanted = self._wanted[topic] = self.topics is None or topic.startswith(self.topics)
        return wanted

    def shadow(self) -> Projection:
        return type(self)(MetaData(), SHADOW)


def event_type(event: Any) -> str:
    """`Person.OwnerReassigned` reads as PersonOwnerReassigned."""
    return type(event).__qualname__.replace(".", "")

