"""What every handler gets: the store, the clock, the gate and the stats; and the route type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.wrappers import Response

from syncledger.emulator.pipedrive.limits import Gate, Stats
from syncledger.emulator.pipedrive.store import Store
from syncledger.emulator.pipedrive.timefmt import Clock


@dataclass
class Context:
    token: str
    clock: Clock
    store: Store
    gate: Gate = field(default_factory=Gate)
    stats: Stats = field(default_factory=Stats)


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    kind: str  # the stats bucket; "admin" routes are neither counted nor limited
    handler: Handler
    # The kind can depend on the method (GET reads, PATCH writes).
    kinds_by_method: dict[str, str] = field(default_factory=dict)

    def kind_for(self, method: str) -> str:
        return self.kinds_by_method.get(method, self.kind)

