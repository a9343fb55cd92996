"""How fast the Salesforce emulator serves 2,000-record pages out of 100k Contacts.

Run: .venv/bin/python bench/emulator_salesforce.py [N_CONTACTS]
"""

from __future__ import annotations

import sys
import time

import requests
import simple_salesforce

from syncledger.emulator.generate import generate_salesforce
from syncledger.emulator.server import running


def main(n_contacts: int = 100_000) -> None:
    started = time.perf_counter()
    data = generate_salesforce(n_contacts, 0, seed=1)
    print(f"generated {n_contacts} contacts in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with running("salesforce", data) as emu:
        print(f"loaded in {time.perf_counter() - started:.1f} s")
        http = requests.Session()
        http.trust_env = False
        http.verify = str(emu.ca_cert)
        sf = simple_salesforce.Salesforce(instance_url=emu.url, session_id=emu.token,
                                          session=http)
        soql = ("SELECT Id, FirstName, LastName, Email, Account.Name, Owner.Email, "
                "SystemModstamp FROM Contact WHERE SystemModstamp >= 2025-01-01T00:00:00Z "
                "ORDER BY SystemModstamp, Id")
        started = time.perf_counter()
        first = sf.query(soql)
        first_page = time.perf_counter() - started
        pages = [first_page]
        result = first
        while not result["done"]:
            started = time.perf_counter()
            result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
            pages.append(time.perf_counter() - started)
        later = sorted(pages[1:]) or [0.0]
        print(f"first page (filter + sort {first['totalSize']} rows, 2000 returned): "
              f"{first_page * 1000:.0f} ms")
        print(f"next {len(later)} pages: median {later[len(later) // 2] * 1000:.0f} ms, "
              f"max {later[-1] * 1000:.0f} ms")
        started = time.perf_counter()
        sf.query("SELECT Id FROM Contact WHERE Email = 'nobody@nowhere.example'")
        print(f"selective query over all rows: {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
