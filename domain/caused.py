"""An aggregate whose every event says who and what caused it (a Context's cause and actor).

The two are declared once, on the aggregate's base `Event`; its `@event` methods take the
event's own facts only, and `_happened` triggers one with the context's two (`_begin`
creates the aggregate from the created event its `__init__`'s @event names, likewise). Called
directly, an `@event` method passes on exactly its own arguments as the event's: it could not
take a Context without storing it, nor leave the cause and actor out. A fact whose state
depends on who caused it takes `actor` too, and is handed the event's own (as Integration's
Connected is)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

# The library's topic functions, as its domain module has them (the domain's one source).
from eventsourcing.domain import (
    Aggregate,
    CommandMethodDecorator,
    OriginatorIDError,
    OriginatorVersionError,
    event,
    get_topic,
    resolve_topic,
)

from syncledger.domain.context import Context
from syncledger.domain.quick_init import quick_init


class CausedAggregate(Aggregate):
    class Event(Aggregate.Event):
        cause: str  # "import:<id>", "run:<id>", "config:<id>", "forget:<id>"
        actor: str

    if TYPE_CHECKING:  # not at run time, where the library would make them dataclass fields
        # The event class of each @event method, by the method's name.
        _facts: ClassVar[dict[str, type[Aggregate.Event]]]
        _created: ClassVar[type[Aggregate.Created]]
        _topic: ClassVar[str]  # the aggregate class's, which its created events carry

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # An @event method triggers the event class of the class that declares it, and only
        # that class applies it. A subclass (Lead, Contact) has events of its own, as its
        # log names them (Lead.Observed beside Contact.Observed): it declares its parents'
        # @event methods again, for the library to make them its own. (A fact of a given
        # class, as Person's versioned ones, is not declared again: no subclass has one.)
        own = vars(cls)
        for base in cls.__mro__[1:]:
            for name, method in vars(base).items():
                if _is_fact(name, method) and method.event_cls_name is not None \
                        and name not in own:
                    setattr(cls, name, event(method.event_cls_name)(method.decorated_func))
        super().__init_subclass__(**kwargs)
        facts = {name: method for name, method in vars(cls).items() if _is_fact(name, method)}
        cls._facts = {name: getattr(cls, _event_name(method)) for name, method in facts.items()}
        for name, fact_class in cls._facts.items():
            _APPLIED[fact_class] = _applier(facts[name].decorated_func)
            fact_class.mutate = _mutated_by  # type: ignore[assignment]
        init = next((vars(c)["__init__"] for c in cls.__mro__
                     if isinstance(vars(c).get("__init__"), CommandMethodDecorator)), None)
        if init is None:
            raise TypeError(f"{cls.__name__}.__init__ names no created event with @event")
        # The subclass's own copy, which the library makes under the same name.
        cls._created = getattr(cls, _event_name(init))
        cls._created.mutate = _made_by  # type: ignore[assignment]
        cls._topic = get_topic(cls)
        for value in vars(cls).values():
            if isinstance(value, type) and issubclass(value, CausedAggregate.Event):
                quick_init(value)

    @classmethod
    def _begin(cls, ctx: Context, /, *, id: UUID | None = None,  # noqa: A002 (the library's)
               **facts: Any) -> Self:
        """A new aggregate, from its created event with `facts` and the context's two; its
        id is `id`, else what `create_id` makes of the facts (each aggregate's takes **_).
        What the library's `_create` does, less what does not apply to ours (a TOPIC to
        check, create_id's parameters to pick out)."""
        created_class = cls._created
        created = created_class(  # type: ignore[call-arg]
            originator_topic=cls._topic,
            originator_id=cls.create_id(**facts) if id is None else id,
            originator_version=cls.INITIAL_VERSION, timestamp=created_class.create_timestamp(),
            cause=ctx.cause, actor=ctx.actor, **facts)
        made: Self = _made_by(created, None)
        made._pending_events.append(created)
        return made

    def _happened(self, fact: Callable[..., None], ctx: Context, /, **facts: Any) -> None:
        """The event of the @event method `fact`, with `facts` and the context's cause and
        actor: `self._happened(self._observed, ctx, content=...)`.

        An aggregate made in this unit of work, whose created event is still its only one,
        may take the fact into that event instead (`_folded`): one event where there would
        be two, and the same state as from the two."""
        name = fact.__name__
        fact_class = self._facts[name]
        pending = self._pending_events
        if len(pending) == 1 and pending[0].originator_version == 1:
            folded = self._folded(name, facts, pending[0])
            if folded is not None:
                _APPLIED[fact_class](self, facts)
                pending[0] = _amended(pending[0], folded)
                return
        # The library's trigger_event, less its checks for explicit topics (ours have none).
        happened = fact_class(  # type: ignore[call-arg]
            originator_id=self._id, originator_version=self._version + 1,
            timestamp=fact_class.create_timestamp(), cause=ctx.cause, actor=ctx.actor,
            **facts)
        _mutated_by(happened, self)
        pending.append(happened)

    def _folded(self, fact: str, facts: dict[str, Any],
                created: Any) -> dict[str, Any] | None:
        """The fields of the unsaved `created` event that stand for the @event method
        `fact` with `facts`, as their new values; None (here, always) when the fact cannot
        be folded into it and is recorded as an event of its own."""
        return None


def _made_by(created: Any, aggregate: None) -> Any:
    """The aggregate a created event of ours makes, as the library's CanInitAggregate.mutate
    makes it (its base attributes, then its __init__ with the event's values it names, then
    the event's apply), with what that looks up on every event looked up once a class:
    every aggregate is made by one, each time the log is read as each time one is begun."""
    assert aggregate is None
    cls = resolve_topic(created.originator_topic)
    init, names = _init_of(cls)
    state = created.__dict__
    made = cls.__new__(cls)
    made.__base_init__(state["originator_id"], state["originator_version"], state["timestamp"])
    values = {name: state[name] for name in names if name in state}
    if "id" in names:  # an __init__ that takes the id is given it, as the library does
        values["id"] = state["originator_id"]
    init(made, **values)
    created.apply(made)
    return made


# What applying each fact's event runs: its @event method's function, with the event's values
# that the function names (its own facts; `actor`, for a fact that takes who caused it).
_APPLIED: dict[type, Callable[[Any, dict[str, Any]], None]] = {}


def _applier(body: Callable[..., None]) -> Callable[[Any, dict[str, Any]], None]:
    names = _parameters(body)

    def apply(aggregate: Any, state: dict[str, Any]) -> None:
        body(aggregate, **{name: state[name] for name in names if name in state})

    return apply


def _mutated_by(happened: Any, aggregate: Any) -> Any:
    """The library's CanMutateAggregate.mutate for a fact's event of ours, checks included
    (the event is the aggregate's, and its next), with the function its DecoratedFuncCaller
    would look up, and the values it would pick out, known for each class once."""
    state = happened.__dict__
    if state["originator_id"] != aggregate._id:
        raise OriginatorIDError(state["originator_id"], aggregate._id)
    version = state["originator_version"]
    if version != aggregate._version + 1:
        raise OriginatorVersionError(version, aggregate._version + 1)
    _APPLIED[type(happened)](aggregate, state)
    aggregate._version = version
    aggregate._modified_on = state["timestamp"]
    return aggregate


@cache
def _init_of(cls: type) -> tuple[Callable[..., None], tuple[str, ...]]:
    """An aggregate class's __init__ (the function an @event decorates) and its parameters."""
    init = cls.__init__  # type: ignore[misc]
    return init, _parameters(init)


def _parameters(method: Callable[..., None]) -> tuple[str, ...]:
    """The names a method takes, besides `self`: the event values it is given."""
    return tuple(name for name in inspect.signature(method).parameters if name != "self")


def _amended(created: Any, changes: dict[str, Any]) -> Any:
    """A copy of an (unsaved) event with `changes` to its fields: frozen, it is never changed
    in place, and its class's __post_init__ checks only what `changes` never holds."""
    amended = object.__new__(type(created))
    amended.__dict__.update(created.__dict__, **changes)
    return amended


def _is_fact(name: str, method: Any) -> bool:
    return isinstance(method, CommandMethodDecorator) and name != "__init__"


def _event_name(method: CommandMethodDecorator) -> str:
    """The name of the event class an @event method triggers, given by name or by class."""
    if method.given_event_cls is not None:
        return method.given_event_cls.__name__
    assert method.event_cls_name is not None  # the library requires one or the other
    return method.event_cls_name
