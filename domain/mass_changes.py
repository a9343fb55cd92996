"""The mass-change guard (DESIGN: what the engine never does to a CRM): a run whose plan would
change OwnerId, or blank a filled field, on more than a share of a step's linked records (and
on at least MINIMUM of them) stops before its first write, unless someone said yes."""

from __future__ import annotations

from dataclasses import dataclass, field

MINIMUM = 20  # below this many records a change is never "mass", whatever the share
EXAMPLES = 5  # records named in the message


@dataclass
class StepChanges:
    """What one outbound step's plan would change on records already linked."""

    step: str
    kind: str  # the CRM object the step writes (Contact, Lead, person)
    linked: int  # the step's linked records: the share is of these
    owners: int = 0
    blanks: int = 0
    examples: list[str] = field(default_factory=list)  # "p-1: OwnerId 005A -> 005B"
    owner_field: str = "OwnerId"  # how the CRM names a record's owner

    def add(self, owner: bool, blanked: list[str], example: str) -> None:
        self.owners += owner
        self.blanks += bool(blanked)
        if (owner or blanked) and len(self.examples) < EXAMPLES:
            self.examples.append(example)

    def too_many(self, limit: float) -> bool:
        return any(n >= MINIMUM and n > limit * self.linked for n in (self.owners, self.blanks))

    def to_json(self) -> dict[str, object]:
        return {"step": self.step, "object": self.kind, "linked": self.linked,
                "owner_field": self.owner_field, "owner_changes": self.owners,
                "blanked": self.blanks,
                "examples": list(self.examples)}


def refusal(changes: list[StepChanges], limit: float) -> str | None:
    """The message of a run that stops, or None when it may go."""
    over = [c for c in changes if c.too_many(limit)]
    if not over:
        return None
    parts = []
    for c in over:
        counts = []
        if c.owners:
            counts.append(f"{c.owner_field} on {c.owners} of {c.linked} linked {c.kind}s")
        if c.blanks:
            counts.append(f"blank a filled field on {c.blanks} of {c.linked}")
        parts.append(f"step {c.step!r} would change {' and '.join(counts)} "
                     f"(e.g. {'; '.join(c.examples)})")
    return ("; ".join(parts) + f": more than {limit:.0%} of a step's linked records, so the "
            "run stopped before its first write. Check the ownership mappings and field "
            "mappings; if this is what you want, run `syncledger sync --allow-mass-changes` "
            "(or raise mass_change_limit in [integration])")
