"""Seeded, realistic Pipedrive data for the demo and benchmarks, in the admin load shape."""

from __future__ import annotations

import random
from typing import Any

from faker import Faker

from syncledger.emulator.pipedrive.fields import custom_key
from syncledger.emulator.pipedrive.timefmt import rfc3339

BASE_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: data looks recent but is reproducible.
TEAM_SIZE = 8
# Owners the sync's owner mapping is not expected to know, to exercise its fallback.
UNMAPPED_OWNERS = 2
DUPLICATE_EMAIL_SHARE = 0.03
SOURCES = ["Web", "Referral", "Event", "Cold outreach", "Partner"]
INTERESTS = [(1, "Analytics"), (2, "Automation"), (3, "Integrations"), (4, "Security")]
# The text field syncledger keeps its idempotency key in (a create retried after a lost
# answer finds the person its first attempt made); an admin adds it once, here it is there.
KEY_FIELD_NAME = "Syncledger key"


def _fields() -> list[dict[str, Any]]:
    return [
        {"key": custom_key("Lead source", "generated"), "name": "Lead source",
         "field_type": "varchar"},
        {"key": custom_key("Interests", "generated"), "name": "Interests", "field_type": "set",
         "options": [{"id": i, "label": label} for i, label in INTERESTS]},
        {"key": custom_key("Score", "generated"), "name": "Score", "field_type": "double"},
        {"key": custom_key(KEY_FIELD_NAME, "generated"), "name": KEY_FIELD_NAME,
         "field_type": "varchar"},
    ]


def generate_pipedrive(n_persons: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    domain = "acme-sales.example"
    users: list[dict[str, Any]] = []
    for index in range(TEAM_SIZE + UNMAPPED_OWNERS):
        first, last = fake.first_name(), fake.last_name()
        users.append({"id": 1000 + index, "name": f"{first} {last}",
                      "email": f"{first}.{last}@{domain}".lower(), "is_admin": index == 0,
                      "is_you": index == 0})
    fields = _fields()
    source_key, interests_key, score_key = (f["key"] for f in fields[:3])
    # Pools keep 100k persons fast: Faker per record would dominate the run time.
    firsts = [fake.first_name() for _ in range(400)]
    lasts = [fake.last_name() for _ in range(600)]
    companies = [fake.company() for _ in range(min(2000, max(10, n_persons // 20)))]
    persons: list[dict[str, Any]] = []
    for index in range(n_persons):
        first, last = rng.choice(firsts), rng.choice(lasts)
        org = rng.randrange(len(companies))
        slug = "".join(ch for ch in companies[org].lower() if ch.isalnum())[:20] or "example"
        email = f"{first}.{last}.{index}@{slug}.example".lower()
        if persons and rng.random() < DUPLICATE_EMAIL_SHARE:
            email = rng.choice(persons)["emails"][0]["value"]
        added = BASE_EPOCH + rng.randrange(0, 180 * 86_400)
        custom: dict[str, Any] = {source_key: rng.choice(SOURCES)}
        if rng.random() < 0.5:
            custom[interests_key] = sorted(rng.sample([i for i, _ in INTERESTS],
                                                      rng.randint(1, 3)))
        if rng.random() < 0.7:
            custom[score_key] = round(rng.uniform(0, 100), 1)
        person: dict[str, Any] = {
            "id": index + 1, "name": f"{first} {last}", "owner_id": rng.choice(users)["id"],
            "org_id": 5000 + org,
            "emails": [{"value": email, "primary": True, "label": "work"}],
            "phones": [{"value": f"+1 {rng.randrange(200, 999)}-{rng.randrange(200, 999)}-"
                                 f"{rng.randrange(0, 10_000):04d}", "primary": True,
                        "label": rng.choice(["work", "mobile"])}] if rng.random() < 0.8 else [],
            "add_time": rfc3339(added),
            "update_time": rfc3339(added + rng.randrange(0, 30 * 86_400)),
            "visible_to": 3, "custom_fields": custom,
        }
        persons.append(person)
    return {"company": {"id": 4242, "name": "Acme Sales", "domain": "acme-sales"},
            "users": users, "personFields": fields, "persons": persons}
