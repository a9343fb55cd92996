"""Seeded, realistic app data in the import format, for the demo, tests and benchmarks."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faker import Faker

TEAM = [("tm-alice", "alice@team.example", "Alice"), ("tm-bob", "bob@team.example", "Bob"),
        ("tm-carol", "carol@team.example", "Carol")]
STATUSES = ["New", "Replied", "Interested", "Not interested", None]
FLAGS = ["opened", "replied", "bounced", "opted_out", "to_call", "clicked"]
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def app_lines(people: int, seed: int = 1, activities: bool = True, *,
              phones: bool = False) -> Iterator[dict[str, Any]]:
    """`phones`: most people get a phone field too (Pipedrive's Default profile maps it), drawn
    from a generator of its own, so the rest of the data is the same with or without."""
    faker = Faker()
    faker.seed_instance(seed)
    rng = random.Random(seed)
    phone_rng = random.Random(f"phones {seed}")
    for member, email, name in TEAM:
        yield {"kind": "team_member", "id": member, "email": email, "name": name}
    yield {"kind": "sequence", "id": "seq-q4", "name": "Q4 outreach",
           "steps": [{"number": 1, "delay_days": 0}, {"number": 2, "delay_days": 3}]}
    yield {"kind": "list", "id": "l-webinar", "name": "Q4 webinar"}
    yield {"kind": "saved_filter", "name": "Enterprise",
           "rules": [{"field": "account", "op": "contains", "value": "Corp"}]}
    for n in range(1, people + 1):
        first, last = faker.first_name(), faker.last_name()
        at = START + timedelta(minutes=n)
        yield {"kind": "person", "id": f"p-{n}",
               "email": f"{first}.{last}.{n}@{faker.domain_name()}".lower(),
               "first_name": first, "last_name": last, "account": faker.company(),
               "owner": rng.choice(TEAM)[0], "status": rng.choice(STATUSES),
               "flags": sorted(rng.sample(FLAGS, rng.randint(0, 2))),
               "lists": ["l-webinar"] if n % 5 == 0 else [],
               "fields": {"title": faker.job(), **_phone(phone_rng, phones)},
               "at": at.isoformat()}
        if activities and n % 3 == 0:
            yield {"kind": "email", "id": f"e-{n}", "person": f"p-{n}",
                   "owner": rng.choice(TEAM)[0], "at": (at + timedelta(hours=1)).isoformat(),
                   "subject": f"Quick question for {first}", "body": faker.paragraph(),
                   "direction": "sent"}
        if activities and n % 7 == 0:
            yield {"kind": "call", "id": f"c-{n}", "person": f"p-{n}",
                   "owner": rng.choice(TEAM)[0], "at": (at + timedelta(hours=2)).isoformat(),
                   "outcome": "Connected", "duration_s": rng.randint(30, 900),
                   "notes": faker.sentence()}


def _phone(rng: random.Random, wanted: bool) -> dict[str, str]:
    if not wanted or rng.random() >= 0.8:
        return {}
    return {"phone": f"+1 {rng.randrange(200, 1000)}-{rng.randrange(200, 1000)}-"
                     f"{rng.randrange(10_000):04d}"}


def write_app_data(path: Path, people: int, seed: int = 1, activities: bool = True, *,
                   phones: bool = False) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for line in app_lines(people, seed, activities, phones=phones):
            handle.write(json.dumps(line) + "\n")
    return path
