"""Seeded, realistic CRM data for the demo, tests and benchmarks, in the emulators' load shape.

Same seed, same data: names come from pools drawn once with Faker, and every later choice
from one `random.Random(seed)`, so 100k records take seconds, not minutes.
"""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime
from typing import Any

from faker import Faker

from syncledger.emulator.salesforce.ids import make_id
from syncledger.emulator.salesforce.schema import INDUSTRIES, INTERESTS, LEAD_SOURCES

GENERATED_POD = "8d"   # generated ids never collide with ids the emulator assigns ("5g")
BASE_TIME = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)

# (first, last, email, team member it matches or None); the first is the connected user
SALESFORCE_USERS = (
    ("Alice", "Archer", "alice@team.example", "tm-alice"),
    ("Bob", "Baker", "bob@team.example", "tm-bob"),
    ("Carol", "Chen", "carol@team.example", "tm-carol"),
    ("Dave", "Dunn", "dave@sales-ops.example", None),
    ("Erin", "Estes", "erin@sales-ops.example", None),
)
LEAD_STATUSES = (
    # label, default, converted
    ("Open - Not Contacted", True, False),
    ("Working - Contacted", False, False),
    ("Closed - Converted", False, True),
    ("Closed - Not Converted", False, False),
    ("Replied", False, False),
    ("Interested", False, False),
)
BRANCHES = ("Holdings", "Labs", "Group", "EMEA", "APAC", "Americas", "Digital", "Partners")
TITLES = ("CEO", "CTO", "VP Sales", "Head of Marketing", "Sales Manager", "Account Executive",
          "Engineer", "Product Manager", "Operations Lead", "Founder", "Director of IT")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "company"


class _Pools:
    """Names drawn once from Faker; records combine them."""

    def __init__(self, seed: int, companies: int) -> None:
        fake = Faker("en_US")
        fake.seed_instance(seed)
        self.first = sorted({fake.first_name() for _ in range(400)})
        self.last = sorted({fake.last_name() for _ in range(800)})
        names: dict[str, None] = {}
        for _ in range(min(companies, 1500) * 2):
            names.setdefault(fake.company().replace(",", ""), None)
        base = list(names)
        # beyond Faker's few thousand distinct names, branch names keep Accounts distinct
        self.companies = [base[i % len(base)] if i < len(base) else
                          f"{base[i % len(base)]} {BRANCHES[(i // len(base)) % len(BRANCHES)]}"
                          f"{'' if i < len(base) * (len(BRANCHES) + 1) else f' {i}'}"
                          for i in range(companies)]
        self.phones = [fake.numerify("+1-###-###-####") for _ in range(500)]


def _stamp(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}+0000"


def _stamps(rng: random.Random, base: datetime) -> dict[str, str]:
    """Created within the year before `base`, last modified between then and `base`."""
    base_ms = int(base.timestamp() * 1000)
    created = base_ms - rng.randrange(86_400_000, 365 * 86_400_000)
    modified = created + rng.randrange(0, base_ms - created)
    created_text, modified_text = _stamp(created), _stamp(modified)
    return {"CreatedDate": created_text, "LastModifiedDate": modified_text,
            "SystemModstamp": modified_text}


def generate_salesforce(n_contacts: int, n_leads: int, seed: int = 1, *,
                        n_accounts: int | None = None, n_tasks: int = 0,
                        converted_share: float = 0.05, duplicate_share: float = 0.03,
                        base_time: datetime = BASE_TIME) -> dict[str, Any]:
    """A Salesforce org's data: Users (some match team members by email, some match nobody),
    Accounts, Contacts with AccountId, Leads (some converted into a Contact with the same
    email), duplicates by email within and across objects, LeadStatus values, optional Tasks.
    """
    rng = random.Random(seed)
    n_accounts = n_accounts if n_accounts is not None else max(3, n_contacts // 4)
    pools = _Pools(seed, max(10, n_accounts + n_leads // 3))
    users: list[dict[str, Any]] = []
    for number, (first, last, email, _member) in enumerate(SALESFORCE_USERS, start=1):
        users.append({"Id": make_id("005", number, GENERATED_POD), "FirstName": first,
                      "LastName": last, "Email": email, "Username": email + ".crm",
                      "Alias": first.lower()[:5], "IsActive": True, "TimeZoneSidKey": "UTC",
                      **_stamps(rng, base_time)})
    owner_ids: list[str] = [str(u["Id"]) for u in users]
    # most records belong to mapped owners; the rest to owners no team member matches
    owner_weights = [30, 25, 20, 15, 10]

    def owner() -> str:
        return rng.choices(owner_ids, owner_weights)[0]

    accounts: list[dict[str, Any]] = []
    for number in range(1, n_accounts + 1):
        name = pools.companies[(number - 1) % len(pools.companies)]
        accounts.append({"Id": make_id("001", number, GENERATED_POD), "Name": name,
                         "Website": f"https://www.{_slug(name)}.example",
                         "Industry": rng.choice(INDUSTRIES), "Phone": rng.choice(pools.phones),
                         "NumberOfEmployees": rng.choice((5, 12, 40, 120, 800, 4000)),
                         "OwnerId": owner(), **_stamps(rng, base_time)})

    def person(domain: str, number: int) -> dict[str, Any]:
        first, last = rng.choice(pools.first), rng.choice(pools.last)
        email = f"{first}.{last}{number}@{domain}".lower().replace("'", "")
        interests = rng.sample(INTERESTS, rng.randrange(0, 3))
        return {"FirstName": first, "LastName": last, "Email": email,
                "Title": rng.choice(TITLES), "Phone": rng.choice(pools.phones),
                "HasOptedOutOfEmail": rng.random() < 0.03,
                "LeadSource": rng.choice(LEAD_SOURCES),
                "Interests__c": ";".join(interests) or None,
                "OwnerId": owner(), **_stamps(rng, base_time)}

    contacts: list[dict[str, Any]] = []
    for number in range(1, n_contacts + 1):
        account = accounts[rng.randrange(len(accounts))] if accounts else None
        domain = f"{_slug(str(account['Name']))}.example" if account else "example.net"
        contact = {"Id": make_id("003", number, GENERATED_POD), **person(domain, number),
                   "AccountId": account["Id"] if account else None}
        if contacts and rng.random() < duplicate_share:
            contact["Email"] = rng.choice(contacts)["Email"]     # duplicate within Contacts
        contacts.append(contact)

    statuses = [label for label, _default, converted in LEAD_STATUSES if not converted]
    converted_status = next(label for label, _d, converted in LEAD_STATUSES if converted)
    leads: list[dict[str, Any]] = []
    for number in range(1, n_leads + 1):
        company = pools.companies[rng.randrange(len(pools.companies))]
        lead = {"Id": make_id("00Q", number, GENERATED_POD),
                **person(f"{_slug(company)}.example", number + n_contacts),
                "Company": company, "Status": rng.choice(statuses)}
        roll = rng.random()
        if contacts and roll < converted_share:
            contact = rng.choice(contacts)
            converted_at = datetime.fromisoformat(contact["CreatedDate"].replace("+0000",
                                                                                 "+00:00"))
            lead.update(FirstName=contact["FirstName"], LastName=contact["LastName"],
                        Email=contact["Email"], IsConverted=True, Status=converted_status,
                        ConvertedContactId=contact["Id"],
                        ConvertedAccountId=contact["AccountId"],
                        ConvertedDate=converted_at.date().isoformat(),
                        SystemModstamp=contact["CreatedDate"],
                        LastModifiedDate=contact["CreatedDate"])
            lead["CreatedDate"] = min(lead["CreatedDate"], contact["CreatedDate"])
        elif contacts and roll < converted_share + duplicate_share:
            lead["Email"] = rng.choice(contacts)["Email"]        # duplicate across objects
        elif leads and roll < converted_share + 2 * duplicate_share:
            lead["Email"] = rng.choice(leads)["Email"]           # duplicate within Leads
        leads.append(lead)

    tasks = []
    people = contacts + leads
    for number in range(1, n_tasks + 1 if people else 1):
        who = rng.choice(people)
        subtype = rng.choice(("Task", "Email", "Call", "LinkedIn"))
        stamps = _stamps(rng, base_time)
        tasks.append({"Id": make_id("00T", number, GENERATED_POD), "WhoId": who["Id"],
                      "Subject": f"{subtype}: follow up with {who['FirstName']}",
                      "Status": rng.choice(("Not Started", "Completed")),
                      "Priority": "Normal", "TaskSubtype": subtype,
                      "ActivityDate": stamps["CreatedDate"][:10], "OwnerId": who["OwnerId"],
                      **stamps})

    return {
        "User": users,
        "LeadStatus": [{"MasterLabel": label, "ApiName": label, "IsDefault": default,
                        "IsConverted": converted, "SortOrder": index}
                       for index, (label, default, converted) in enumerate(LEAD_STATUSES, 1)],
        "Account": accounts,
        "Contact": contacts,
        "Lead": leads,
        "Task": tasks,
        "options": {"current_user": users[0]["Id"]},
    }
