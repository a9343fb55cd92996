"""One import of an app data file, identified by the file's content hash: a crashed import is
finished by running the same file again, and a repeated one records nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.context import Context
from syncledger.domain.ids import import_id


class AppImport(CausedAggregate):
    @staticmethod
    def create_id(content_hash: str, **_: Any) -> UUID:
        return import_id(content_hash)

    @classmethod
    def start(cls, content_hash: str, source: str, lines: int, ctx: Context) -> AppImport:
        return cls._begin(ctx, content_hash=content_hash, source=source, lines=lines)

    @event("Started")
    def __init__(self, content_hash: str, source: str, lines: int) -> None:
        self.content_hash = content_hash
        self.source = source
        self.lines = lines
        self.completed = False

    def complete(self, counts: dict[str, int], skipped: list[dict[str, Any]],
                 ctx: Context) -> None:
        if self.completed:
            return
        self._happened(self._completed, ctx, counts=counts, skipped=skipped)

    @event("Completed")
    def _completed(self, counts: dict[str, int], skipped: list[dict[str, Any]]) -> None:
        self.completed = True
