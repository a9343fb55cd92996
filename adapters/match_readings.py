"""What a gateway that sends no query text keeps of its email look-ups, for the run to record
(domain/crm_readings.py `RunMatches`), so that `replay --run` answers them again: per stream,
how many emails were asked and the rows found (match key, record id, converted)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from syncledger.domain.crm_readings import match_key


class MatchReadings:
    def __init__(self) -> None:
        self.lengths: dict[str, dict[str, int]] = {}  # nothing read from a describe
        self.lead_statuses: list[dict[str, str]] | None = None
        self._asked: Counter[str] = Counter()
        self._rows: dict[str, list[list[Any]]] = {}

    def asked(self, stream: str, email: str, found: list[str]) -> None:
        """One email looked up, and the records found holding it."""
        self._asked[stream] += 1
        self._rows.setdefault(stream, []).extend(
            [match_key(email), record_id, False] for record_id in found)

    def take_matches(self) -> dict[str, tuple[int, list[list[Any]]]]:
        """The answers not yet taken: stream -> (emails asked, rows)."""
        taken = {stream: (asked, self._rows.get(stream, []))
                 for stream, asked in self._asked.items()}
        self._asked.clear()
        self._rows = {}
        return taken
