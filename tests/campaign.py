"""The world of issue 20's reliability campaign (kill points, faults, malformed answers):
lanes, each a Salesforce emulator with a command line of its own, stores prepared once per
lane and copied for each trial, and every command run in a real process.

Each CLI run is a process forked from a "zygote" that imported syncledger once: a fresh
interpreter spends seconds importing it on a busy machine, and the campaign runs the CLI a
few hundred times. A run is still the real `main()` of `syncledger` in a process of its
own, with its own environment, stdout and stderr, and a SIGKILL ends it as it would any.

A trial starts from a base (the emulator's records and a copy of the store as they were),
runs a command, and compares what the CRM and the app hold after it with a reference: the
same commands on the same base with nothing going wrong. CRM ids are replaced by what
identifies a record (a person's email, an Account's Name, an activity's key) before
comparing, so a record created in another order is not a difference, and two records for
one person are."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import Queue
from typing import Any, TypeVar

import requests
from cryptography.fernet import Fernet

from syncledger.adapters.kill_points import KILL_AT
from syncledger.commands.config_file import configuration_toml
from syncledger.domain.context import Context
from syncledger.domain.integration import Integration
from syncledger.domain.steps import Configuration, FieldMapping, Step
from syncledger.emulator.salesforce.ids import normalise_id
from syncledger.emulator.server import RunningEmulator, running

T = TypeVar("T")
RUN_TIMEOUT = 120.0  # seconds one CLI run may take before the campaign gives up on it

# Each run is forked from here: argv, environment, working directory and output files are
# the run's own; the exit code (negative: the signal that ended it) goes back on stdout. The
# command line imports a command's handlers when it runs: the campaign's are imported here,
# once, not again in every run.
ZYGOTE = """
import json, os, sys
from syncledger.commands.cli.app import main
import rich.progress, syncledger.adapters.salesforce.catalog
import syncledger.commands.app_import, syncledger.commands.config_file
import syncledger.commands.configure, syncledger.commands.connect, syncledger.commands.forget
import syncledger.commands.session, syncledger.commands.status, syncledger.commands.sync
import syncledger.commands.views, syncledger.projections.logs

for request in sys.stdin:
    job = json.loads(request)
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd, name in ((1, job["stdout"]), (2, job["stderr"])):
            os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        sys.stdin = open(os.devnull)
        os.environ.clear()
        os.environ.update(job["env"])
        os.chdir(job["cwd"])
        sys.argv = ["syncledger", *job["args"]]
        main()
        sys.exit(0)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), flush=True)
"""


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"syncledger {' '.join(self.args)}: exit {self.returncode}\n"
                f"stdout: {self.stdout}\nstderr: {self.stderr}")


class Cli:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.runs = 0
        self.zygote = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, env=env,
                                       cwd=directory)

    def run(self, store: str, *args: str, kill_at: str | None = None,
            actor: str = "tm-alice") -> Run:
        self.runs += 1
        out = self.directory / f"run-{self.runs}.out"
        err = self.directory / f"run-{self.runs}.err"
        argv = ("--store", store, "--as", actor, *args)
        env = {**self.env, **({KILL_AT: kill_at} if kill_at else {})}
        assert self.zygote.stdin is not None
        self.zygote.stdin.write(json.dumps({"args": argv, "env": env, "cwd": str(
            self.directory), "stdout": str(out), "stderr": str(err)}) + "\n")
        self.zygote.stdin.flush()
        pid = int(self._answer())
        try:
            code = int(self._answer())
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)  # our own run, stuck: the test fails, nothing hangs
            raise
        return Run(args, code, out.read_text(), err.read_text())

    def _answer(self) -> str:
        assert self.zygote.stdout is not None
        ready, _, _ = select.select([self.zygote.stdout], [], [], RUN_TIMEOUT)
        if not ready:
            raise TimeoutError(f"a CLI run took more than {RUN_TIMEOUT}s")
        line = self.zygote.stdout.readline()
        if not line:
            raise RuntimeError("the CLI zygote died")
        return line

    def close(self) -> None:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.close()
        self.zygote.wait(timeout=RUN_TIMEOUT)
        self.zygote.stdout.close()


# -- the data ------------------------------------------------------------------------------

ALICE = "005000000000001AAA"
BOB = "005000000000002AAA"
USERS = [{"Id": ALICE, "FirstName": "Alice", "LastName": "A", "Email": "alice@team.example",
          "Username": "alice@crm", "IsActive": True},
         {"Id": BOB, "FirstName": "Bob", "LastName": "B", "Email": "bob@team.example",
          "Username": "bob@crm", "IsActive": True}]
STATUSES = [{"MasterLabel": "Open - Not Contacted", "ApiName": "Open - Not Contacted",
             "IsDefault": True}, {"MasterLabel": "Replied", "ApiName": "Replied"}]
TEAM = [{"kind": "team_member", "id": "tm-alice", "email": "alice@team.example"},
        {"kind": "team_member", "id": "tm-bob", "email": "bob@team.example"}]
EMULATOR_DATA = {"User": USERS, "LeadStatus": STATUSES,
                 "options": {"current_user": ALICE, "now": "2026-11-20T10:00:00Z"}}
AT = "2026-11-01T10:00:00Z"
LATER = "2026-11-25T10:00:00Z"


def contact(n: int, **extra: Any) -> dict[str, Any]:
    return {"Id": normalise_id(f"003{n:012d}"), "FirstName": f"C{n}", "LastName": f"Last{n}",
            "Email": f"contact{n}@example.com", "OwnerId": ALICE, **extra}


def lead(n: int, **extra: Any) -> dict[str, Any]:
    return {"Id": normalise_id(f"00Q{n:012d}"), "FirstName": f"L{n}", "LastName": f"Lead{n}",
            "Email": f"lead{n}@example.com", "Company": f"Co{n}", "OwnerId": ALICE, **extra}


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "person", "id": f"p-{n}", "email": f"person{n}@example.com",
            "first_name": f"P{n}", "last_name": f"Person{n}", "owner": "tm-alice", "at": AT,
            **extra}


def lead_person(n: int) -> str:
    return f"sf-lead-{lead(n)['Id']}"


def contact_person(n: int) -> str:
    return f"sf-contact-{contact(n)['Id']}"


def body(key: str) -> str:
    """An activity's body, found nowhere else (a store searched for it finds only it)."""
    return f"Body of {key}, q7Zx"


BASE_LINES = [*TEAM, person(1, account="Acme"), person(2, account="Globex"),
              {"kind": "email", "id": "e-1", "person": "p-1", "at": AT, "subject": "Hello",
               "body": body("e-1"), "direction": "sent"}]
# What the run under test brings from the app: new people (one of a new company), an edit,
# a status for a Lead's person, a company for a Contact's person, and activities of every
# kind, some for people that are linked only during that run.
DELTA_LINES = [person(3, account="Initech"), person(4),
               {**person(1, account="Acme"), "last_name": "Person1b", "at": LATER},
               {"kind": "person", "id": lead_person(2), "email": "lead2@example.com",
                "status": "Replied", "at": LATER},
               {"kind": "person", "id": contact_person(1), "email": "contact1@example.com",
                "account": "Acme", "at": LATER},
               {"kind": "email", "id": "e-2", "person": "p-3", "at": LATER, "subject": "Hi",
                "body": body("e-2"), "direction": "sent"},
               {"kind": "call", "id": "k-1", "person": "p-1", "at": LATER,
                "outcome": "Connected", "notes": body("k-1")},
               {"kind": "note", "id": "n-1", "person": "p-2", "at": LATER,
                "text": f"A note\n{body('n-1')}"},
               {"kind": "task", "id": "t-1", "person": lead_person(2), "at": LATER,
                "title": "Follow up", "due": "2026-11-30", "done": False,
                "notes": body("t-1")},
               {"kind": "linkedin", "id": "li-1", "person": "p-4", "at": LATER,
                "action": "message", "message": body("li-1")}]
PEOPLE_EMAILS = {*(f"person{n}@example.com" for n in range(1, 5)),
                 *(f"contact{n}@example.com" for n in range(1, 4)),
                 *(f"lead{n}@example.com" for n in range(1, 3))}
BODIES = [body(key) for key in ("e-1", "e-2", "k-1", "n-1", "t-1", "li-1")]


# The steps on, each exercised: Contacts both ways with their Account's Name, Leads only
# inbound (so that the status step writes Lead Statuses itself), and the activities the data
# has. Fewer steps make a cheaper run, and the campaign runs a few hundred.
STEPS_ON = {"Contacts to People", "Leads to People", "People to Contacts",
            "People Statuses to Lead Statuses", "Emails to Contact Tasks",
            "Calls to Contact Tasks", "LinkedIn to Contact Tasks",
            "People Notes to Contact Notes", "Tasks to Lead Tasks"}


def custom_configuration(current: Configuration) -> Configuration:
    def change(step: Step) -> Step:
        if step.name not in STEPS_ON:
            return replace(step, enabled=False)
        if step.name in ("Contacts to People", "People to Contacts"):
            return replace(step, field_mappings=(*step.field_mappings,
                                                 FieldMapping("Account.Name", "account")))
        return step

    return replace(current, profile="custom", steps=tuple(change(s) for s in current.steps))


def without_contact_notes(config: Configuration) -> Configuration:
    """The configuration the config trials apply: Notes no longer go to Contacts."""
    def change(step: Step) -> Step:
        if step.name == "People Notes to Contact Notes":
            return replace(step, enabled=False)
        return step

    return replace(config, steps=tuple(change(s) for s in config.steps))


# -- the world -----------------------------------------------------------------------------

@dataclass
class Base:
    """A moment to start trials from: the emulator's records and a store file."""
    records: dict[str, Any]
    store: Path


@dataclass
class Lane:
    """One emulator and one CLI, for trials one after another; lanes run side by side."""
    emulator: RunningEmulator
    session: requests.Session
    cli: Cli
    directory: Path
    files: dict[str, Path]
    bases: dict[str, Base] = field(default_factory=dict)
    trials: int = 0

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{self.emulator.url}/__emulator__/{path}",
                                        json=body, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None

    def api(self, method: str, path: str) -> None:
        response = self.session.request(method, f"{self.emulator.url}/services/data/v59.0/"
                                        f"{path}", timeout=60)
        response.raise_for_status()

    def faults(self, **settings: Any) -> None:
        self.admin("POST", "faults", settings)

    def dump(self) -> dict[str, Any]:
        return dict(self.admin("GET", "dump"))

    def writes(self) -> int:
        calls = self.admin("GET", "stats")["api_calls"]
        return int(calls["collections"] + calls["sobject_write"])

    def start_from(self, name: str) -> str:
        """The emulator back to base `name` (no faults), and a fresh copy of its store."""
        base = self.bases[name]
        self.admin("POST", "reset", {})
        self.admin("POST", "load", base.records)
        self.trials += 1
        store = self.directory / f"trial-{self.trials}.db"
        shutil.copy2(base.store, store)
        return f"sqlite:///{store}"

    def run(self, store: str, *args: str, kill_at: str | None = None) -> Run:
        return self.cli.run(store, *args, kill_at=kill_at)

    def sync(self, store: str, kill_at: str | None = None) -> Run:
        return self.cli.run(store, "sync", kill_at=kill_at)

    def state(self, store: str) -> State:
        listed = self.cli.run(store, "people", "list", "--json")
        assert listed.returncode == 0, listed
        return State.of(self.dump(), json.loads(listed.stdout), self.emulator.url)


@contextmanager
def lanes(directory: Path, count: int) -> Iterator[list[Lane]]:
    """`count` lanes, each with its bases: "before" (the first sync done, the CRM's changes
    for the next made, the app's not yet imported) and "ready" (the app's imported too), and
    the same with message bodies held outside the log (`store_contents = false`)."""
    directory.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SYNCLEDGER_KEY": Fernet.generate_key().decode(),
           "XDG_CONFIG_HOME": str(directory / "config"), "COLUMNS": "200"}
    env.pop(KILL_AT, None)
    env.pop("SYNCLEDGER_STORE", None)
    files = _files(directory)
    with ExitStack() as stack:
        made = [stack.enter_context(_lane(directory / f"lane-{n}", env, files))
                for n in range(count)]
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(_build_bases, made))
        yield made


@contextmanager
def _lane(directory: Path, env: dict[str, str], files: dict[str, Path]) -> Iterator[Lane]:
    directory.mkdir()
    with running("salesforce", EMULATOR_DATA) as emulator, requests.Session() as session:
        session.trust_env = False
        session.verify = str(emulator.ca_cert)
        session.headers["Authorization"] = f"Bearer {emulator.token}"
        cli = Cli(directory, env)
        try:
            yield Lane(emulator, session, cli, directory, files)
        finally:
            cli.close()


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _files(directory: Path) -> dict[str, Path]:
    default = Integration.start("salesforce", Context("config:campaign")).configuration()
    custom = custom_configuration(replace(default, settings=replace(default.settings,
                                                                       enabled=True)))
    held = replace(custom, settings=replace(custom.settings, store_contents=False))
    files = {"base": _write(directory / "base.jsonl", BASE_LINES),
             "delta": _write(directory / "delta.jsonl", DELTA_LINES),
             "custom": directory / "custom.toml", "held": directory / "held.toml",
             "changed": directory / "changed.toml"}
    files["custom"].write_text(configuration_toml(custom))
    files["held"].write_text(configuration_toml(held))
    files["changed"].write_text(configuration_toml(without_contact_notes(custom)))
    return files


def _build_bases(lane: Lane) -> None:
    """Through the command line, as a user would: bodies in the log ("before", "ready"), and
    held outside it until the CRM has them ("before_held", "ready_held")."""
    emulator = lane.emulator
    token = lane.directory / "token"
    token.write_text(emulator.token)
    for suffix, config in (("", "custom"), ("_held", "held")):
        lane.admin("POST", "reset", {})
        lane.admin("POST", "load", {**EMULATOR_DATA, "Contact": [contact(1), contact(2)],
                                    "Lead": [lead(1), lead(2), lead(3)]})
        store = lane.directory / f"before{suffix}.db"
        url = f"sqlite:///{store}"
        for args in (("connect", "salesforce", "--instance-url", emulator.url, "--token-file",
                      str(token), "--ca-cert", str(emulator.ca_cert)),
                     ("config", "apply", str(lane.files[config])), ("enable",),
                     ("app", "import", str(lane.files["base"])), ("sync",)):
            done = lane.run(url, *args)
            assert done.returncode == 0, done
        # The CRM's side of the run under test: a new Contact, an edited Lead, a deleted one.
        lane.admin("POST", "clock", {"advance": 60})
        lane.admin("POST", "load", {"Contact": [contact(3)],
                                    "Lead": [lead(1, FirstName="L1b")]})
        lane.api("DELETE", f"sobjects/Lead/{lead(3)['Id']}")
        lane.bases[f"before{suffix}"] = Base(lane.dump(), store)
        ready = lane.directory / f"ready{suffix}.db"
        shutil.copy2(store, ready)
        imported = lane.run(f"sqlite:///{ready}", "app", "import", str(lane.files["delta"]))
        assert imported.returncode == 0, imported
        lane.bases[f"ready{suffix}"] = Base(lane.dump(), ready)


def on_lanes(pool: list[Lane], work: list[Callable[[Lane], T]]) -> list[T]:
    """Each piece of work on the first lane free, side by side; results in order."""
    free: Queue[Lane] = Queue()
    for lane in pool:
        free.put(lane)

    def on_a_lane(piece: Callable[[Lane], T]) -> T:
        lane = free.get()
        try:
            return piece(lane)
        finally:
            free.put(lane)

    with ThreadPoolExecutor(len(pool)) as executor:
        return list(executor.map(on_a_lane, work))


# -- what is compared ----------------------------------------------------------------------

# Set by the emulator as time goes, not by what was written.
VOLATILE = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "LastActivityDate",
            "LastViewedDate", "LastReferencedDate"}
OBJECTS = ("Account", "Contact", "Lead", "Task", "Note")
ID = re.compile(r"\b[0-9a-zA-Z]{18}\b")


def _label(sobject: str, record: dict[str, Any]) -> str:
    """What identifies a record whatever its Id."""
    if sobject == "Account":
        return f"Account:{record.get('Name')}"
    if sobject in ("Contact", "Lead"):
        return f"{sobject}:{str(record.get('Email') or '').lower()}"
    if sobject == "Task":
        return f"Task:{record.get('Syncledger_Key__c') or record.get('Subject')}"
    return f"Note:{record.get('Title')}"


@dataclass(frozen=True)
class State:
    """The CRM's records (on the fields that matter, ids replaced by labels) and the people
    view, as JSON text with the same replacement."""
    crm: dict[str, list[str]]
    people: list[str]

    @classmethod
    def of(cls, dump: dict[str, Any], people: list[dict[str, Any]], url: str) -> State:
        labels = {record["Id"]: _label(sobject, record) for sobject in OBJECTS
                  for record in dump[sobject]}

        def plain(value: Any) -> str:
            text = json.dumps(value, sort_keys=True).replace(url, "https://emulator")
            return ID.sub(lambda m: labels.get(m.group(0), m.group(0)), text)

        crm = {sobject: sorted(plain({k: v for k, v in record.items() if k not in VOLATILE})
                               for record in dump[sobject]) for sobject in OBJECTS}
        return cls(crm, sorted(plain(p) for p in people))

    def live(self, sobject: str) -> list[dict[str, Any]]:
        return [r for r in map(json.loads, self.crm[sobject]) if not r.get("IsDeleted")]

    def problems(self, people: set[str]) -> list[str]:
        """Duplicates and losses in the CRM, whatever the reference says: each of `people`
        once (a Contact or a Lead), every activity once."""
        found = []
        emails = Counter(str(r.get("Email")).lower() for sobject in ("Contact", "Lead")
                         for r in self.live(sobject))
        twice = sorted(e for e, n in emails.items() if n > 1)
        if twice:
            found.append(f"people in the CRM more than once: {twice}")
        missing = sorted(people - set(emails))
        if missing:
            found.append(f"people missing from the CRM: {missing}")
        keys = Counter(r.get("Syncledger_Key__c") for r in self.live("Task"))
        keys.update(str(r.get("Title")).rpartition("[")[2] for r in self.live("Note"))
        if any(n > 1 for n in keys.values()):
            found.append(f"activities written more than once: {keys}")
        return found


def differences(got: State, want: State) -> list[str]:
    """What differs, readably: per object, the records only one side has."""
    found = []
    for sobject in OBJECTS:
        extra = Counter(got.crm[sobject]) - Counter(want.crm[sobject])
        lost = Counter(want.crm[sobject]) - Counter(got.crm[sobject])
        if extra or lost:
            found.append(f"{sobject}: extra {sorted(extra.elements())}, "
                         f"lost {sorted(lost.elements())}")
    extra_people = Counter(got.people) - Counter(want.people)
    lost_people = Counter(want.people) - Counter(got.people)
    if extra_people or lost_people:
        found.append(f"people view: got {sorted(extra_people.elements())}, "
                     f"want {sorted(lost_people.elements())}")
    return found
