"""The seeded data generator: deterministic, realistic, and loadable into the emulator."""

from __future__ import annotations

from collections import Counter

from conftest import session

from syncledger.emulator.generate import generate_salesforce
from syncledger.emulator.server import running


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert generate_salesforce(50, 50, seed=4) == generate_salesforce(50, 50, seed=4)
    assert generate_salesforce(50, 50, seed=4) != generate_salesforce(50, 50, seed=5)


def test_shape_owners_conversions_and_duplicates() -> None:
    data = generate_salesforce(400, 600, seed=2, n_tasks=20)
    emails = {u["Email"] for u in data["User"]}
    assert {"alice@team.example", "bob@team.example", "carol@team.example"} <= emails
    assert any(not e.endswith("@team.example") for e in emails)   # owners nobody maps
    owners = Counter(c["OwnerId"] for c in data["Contact"] + data["Lead"])
    assert len(owners) == len(data["User"])
    accounts = {a["Id"] for a in data["Account"]}
    assert all(c["AccountId"] in accounts for c in data["Contact"])
    assert all(lead["Company"] for lead in data["Lead"])
    contacts = {c["Id"]: c for c in data["Contact"]}
    converted = [lead for lead in data["Lead"] if lead.get("IsConverted")]
    assert converted
    for lead in converted:
        assert contacts[lead["ConvertedContactId"]]["Email"] == lead["Email"]
    contact_emails = Counter(c["Email"] for c in data["Contact"])
    assert any(n > 1 for n in contact_emails.values())          # duplicates within Contacts
    unconverted = [lead["Email"] for lead in data["Lead"] if not lead.get("IsConverted")]
    assert set(unconverted) & set(contact_emails)               # duplicates across objects
    labels = [s["MasterLabel"] for s in data["LeadStatus"]]
    assert labels == ["Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                      "Closed - Not Converted", "Replied", "Interested"]
    assert len(data["Task"]) == 20


def test_loads_into_the_emulator() -> None:
    data = generate_salesforce(300, 200, seed=9, n_tasks=10)
    with running("salesforce", data) as emu:
        http = session(emu)
        response = http.get(emu.url + "/services/data/v59.0/query", params={
            "q": "SELECT COUNT() FROM Lead WHERE IsConverted = true"},
            headers={"Authorization": f"Bearer {emu.token}"})
        assert response.json()["totalSize"] == sum(
            1 for lead in data["Lead"] if lead.get("IsConverted"))
        info = http.get(emu.url + "/services/oauth2/userinfo",
                        headers={"Authorization": f"Bearer {emu.token}"}).json()
        assert info["email"] == "alice@team.example"
