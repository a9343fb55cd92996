"""Projections and replays route on the names of existing event classes (issue 18).

Their names are derived from the classes (projections/event_names.py), so a renamed event
breaks the import. A string written out instead would go stale without a word: every one
left in projections/ and replay/ that names an event, its aggregate or its topic must name
an existing one."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from domain_classes import aggregate_events, aggregates
from eventsourcing.utils import get_topic

from syncledger.adapters.plain_events import PlainDecoder
from syncledger.domain.crm_record import CrmRecord, Lead
from syncledger.domain.person import Person
from syncledger.domain.task import Task
from syncledger.projections.event_names import (
    event_name,
    events_of,
    module_prefix,
    name_prefix,
    own_name,
    topic_prefix,
    type_name,
)
from syncledger.projections.registry import LIVE

ROOT = Path(__file__).resolve().parents[2]
SCANNED = sorted([*(ROOT / "projections").glob("*.py"), *(ROOT / "replay").glob("*.py")])
# The variables a route compares with: an event's kind or type, its name, its topic.
ROUTING = {"kind", "name", "owner", "topic", "family"}
DOTTED = re.compile(r":?[A-Z]\w*\.([A-Z]\w*)?")  # "Person.Linked", "SyncRun.", ":Person.X"
WORD = re.compile(r"[A-Z]\w*")  # "Observed", "PersonLinked"
TOPIC = re.compile(r"syncledger\.domain\.")


AGGREGATES = aggregates()
EVENTS = aggregate_events(AGGREGATES)
TOPICS = {get_topic(cls) for cls in EVENTS}
KNOWN = ({event_name(cls) for cls in EVENTS} | {own_name(cls) for cls in EVENTS}
         | {type_name(cls) for cls in EVENTS} | {name_prefix(a) for a in AGGREGATES}
         | {event_name(a) for a in AGGREGATES})


def _routed_strings(source: str) -> Iterator[tuple[int, str]]:
    """The strings a module routes on, or may: any naming an event, an aggregate's events or
    a topic; and a bare word compared with a routing variable (`kind == "Observed"`)."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    compared: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
                _routing(side) for side in [node.left, *node.comparators]):
            compared.update(id(n) for side in node.comparators for n in ast.walk(side))
            compared.update(id(n) for n in ast.walk(node.left))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("startswith", "endswith") \
                and _routing(node.func.value):
            compared.update(id(n) for arg in node.args for n in ast.walk(arg))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) \
                or id(node) in docstrings:
            continue
        text = node.value
        if DOTTED.fullmatch(text) or TOPIC.match(text) \
                or (id(node) in compared and WORD.fullmatch(text)):
            yield node.lineno, text


def _routing(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in ROUTING
    if isinstance(node, ast.Call):  # event_type(event), type(event).__qualname__...
        return True
    return isinstance(node, ast.Name) and node.id in ROUTING


def _stale(text: str) -> bool:
    if TOPIC.match(text):
        return not any(topic.startswith(text) for topic in TOPICS)
    return text.removeprefix(":") not in KNOWN  # a topic's end: ":Person.Restarted"


def test_every_name_projections_and_replays_route_on_is_an_existing_events() -> None:
    stale = [f"{path.relative_to(ROOT)}:{line}: {text!r}" for path in SCANNED
             for line, text in _routed_strings(path.read_text()) if _stale(text)]
    assert not stale, "no event is named so any longer:\n" + "\n".join(stale)


@pytest.mark.parametrize("route", ['kind == "Person.Linkd"', 'kind in ("Observd", "x")',
                                   'topic.endswith(":Person.Restartd")',
                                   'PREFIXES = ("syncledger.domain.persons:",)',
                                   'event_type(event) != "PersonLinkd"'])
def test_a_stale_name_is_caught(route: str) -> None:
    found = [text for _, text in _routed_strings(route)]
    assert found and any(_stale(text) for text in found)


def test_the_live_projections_read_topics_of_existing_events() -> None:
    for projection in LIVE.values():
        for prefix in projection.topics or ():
            assert any(topic.startswith(prefix) for topic in TOPICS), (projection.name,
                                                                         prefix)


def test_a_routing_name_is_the_kind_the_log_reads_back() -> None:
    decoder = PlainDecoder(keys=None)  # type: ignore[arg-type]  (naming reads no key)
    for cls in EVENTS:
        assert decoder._kind(get_topic(cls))[0] == event_name(cls)


def test_the_names_of_an_event() -> None:
    linked = events_of(Person).Linked
    assert (event_name(linked), own_name(linked), type_name(linked)) == (
        "Person.Linked", "Linked", "PersonLinked")
    assert own_name(Lead.Observed) == own_name(CrmRecord.Observed) == "Observed"
    assert own_name(CrmRecord.Written, events_of(Task).Written) == "Written"
    assert name_prefix(Person) == "Person."
    assert topic_prefix(Person) == "syncledger.domain.person:Person."
    assert module_prefix(Lead) == "syncledger.domain.crm_record:"


def test_events_routed_as_one_must_share_their_name() -> None:
    with pytest.raises(ValueError, match="routed as 'Written'"):
        own_name(CrmRecord.Written, CrmRecord.WriteFailed)
