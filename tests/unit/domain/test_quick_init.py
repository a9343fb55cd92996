"""The quick `__init__` of frozen dataclasses (domain/quick_init.py) builds what the one
dataclasses writes builds, takes the same arguments, and refuses the same mistakes."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest
from domain_classes import aggregate_events, aggregates
from hypothesis import given
from hypothesis import strategies as st

from syncledger.domain.caused import CausedAggregate
from syncledger.domain.quick_init import quick_init


def _value_classes() -> tuple[type, type]:
    """The same frozen dataclass twice: as dataclasses makes it, and made quick."""
    def declare() -> type:
        @dataclass(frozen=True)
        class Seen:
            id: UUID
            name: str
            tags: list[str] = field(default_factory=list)
            owner: str | None = None
            seen: int = 0

            def __post_init__(self) -> None:
                if not isinstance(self.id, UUID):
                    raise TypeError(f"not a UUID: {self.id!r}")
        return Seen

    return declare(), quick_init(declare())


PLAIN, QUICK = _value_classes()


@given(name=st.text(), owner=st.none() | st.text(), seen=st.integers(),
       tags=st.none() | st.lists(st.text(), max_size=3), by_keyword=st.booleans())
def test_the_quick_init_builds_what_the_dataclass_init_builds(
        name: str, owner: str | None, seen: int, tags: list[str] | None,
        by_keyword: bool) -> None:
    ident = uuid4()
    given_args: dict[str, Any] = {"owner": owner, "seen": seen}
    if tags is not None:
        given_args["tags"] = tags
    if by_keyword:
        plain, quick = (cls(id=ident, name=name, **given_args) for cls in (PLAIN, QUICK))
    else:
        plain, quick = (cls(ident, name, **given_args) for cls in (PLAIN, QUICK))
    assert vars(quick) == vars(plain)
    assert dataclasses.astuple(quick) == dataclasses.astuple(plain)
    assert quick == QUICK(**dataclasses.asdict(quick))


def test_defaults_and_default_factories_are_filled_in_afresh() -> None:
    ident = uuid4()
    first, second = QUICK(ident, "a"), QUICK(ident, "b")
    assert (first.tags, first.owner, first.seen) == ([], None, 0)
    assert first.tags is not second.tags


def test_the_same_mistakes_are_refused() -> None:
    with pytest.raises(TypeError, match="not a UUID"):  # __post_init__ still runs
        QUICK("x", "a")
    with pytest.raises(TypeError):
        QUICK(uuid4())  # a field missing
    with pytest.raises(TypeError):
        QUICK(uuid4(), "a", unknown=1)
    with pytest.raises(TypeError):
        QUICK(uuid4(), "a", [], None, 0, "one too many")
    made = QUICK(uuid4(), "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "b"  # type: ignore[misc]
    assert dataclasses.replace(made, name="b").name == "b"


def test_the_signature_is_the_dataclass_one() -> None:
    # As text: a field with a default factory defaults to a marker of each one's own.
    assert str(inspect.signature(QUICK)) == str(inspect.signature(PLAIN))


def test_a_class_it_cannot_cover_keeps_its_own_init() -> None:
    @dataclass(frozen=True)
    class KeywordOnly:
        name: str
        owner: str = field(default="", kw_only=True)

    own = KeywordOnly.__init__
    assert quick_init(KeywordOnly).__init__ is own
    with pytest.raises(TypeError, match="not a frozen dataclass"):
        quick_init(dataclass(type("Loose", (), {"__annotations__": {"a": "int"}})))


def _event_classes() -> list[type]:
    caused = [aggregate for aggregate in aggregates()
              if issubclass(aggregate, CausedAggregate) and aggregate is not CausedAggregate]
    return sorted(aggregate_events(caused), key=lambda c: c.__qualname__)


@pytest.mark.parametrize("event_class", _event_classes(), ids=lambda c: c.__qualname__)
def test_every_event_an_aggregate_triggers_is_built_quickly_with_the_librarys_signature(
        event_class: type) -> None:
    assert getattr(event_class.__init__, "__quick_init__", False)
    # The library keeps the signature its dataclass had when it made the class.
    assert inspect.signature(event_class) == event_class.__signature__  # type: ignore[attr-defined]
