"""The SOQL subset the sync engine speaks, parsed with a lark grammar into a small AST.

Real SOQL refuses AND and OR mixed without parentheses; so does this grammar, so that a
query that works here cannot fail in a real org for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedInput

from syncledger.emulator.salesforce.errors import malformed_query

GRAMMAR = r"""
start: "SELECT"i select_list "FROM"i NAME where? order_by? limit? offset?

select_list: count_all | count_field | path ("," path)*
count_all: "COUNT"i "(" ")"
count_field: "COUNT"i "(" path ")"
path: NAME ("." NAME)*

where: "WHERE"i cond
?cond: term
     | term ("AND"i term)+        -> and_
     | term ("OR"i term)+         -> or_
?term: "NOT"i term                -> not_
     | "(" cond ")"
     | comparison
comparison: path OP value                              -> compare
          | path "LIKE"i value                         -> like
          | path "IN"i "(" value ("," value)* ")"      -> in_
          | path "NOT"i "IN"i "(" value ("," value)* ")" -> not_in
          | path "INCLUDES"i "(" value ("," value)* ")" -> includes
          | path "EXCLUDES"i "(" value ("," value)* ")" -> excludes

value: STRING -> string
     | DATETIME -> datetime
     | DATE -> date
     | NUMBER -> number
     | TRUE -> true
     | FALSE -> false
     | NULL -> null
     | DATE_LITERAL -> date_literal
     | DATE_N_LITERAL -> date_n_literal

order_by: "ORDER"i "BY"i order_item ("," order_item)*
order_item: path DIRECTION? NULLS?
limit: "LIMIT"i INT
offset: "OFFSET"i INT

DIRECTION: /ASC|DESC/i
NULLS: /NULLS[ \t\r\n]+(FIRST|LAST)/i
OP: "=" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
TRUE: /true/i
FALSE: /false/i
NULL: /null/i
DATETIME.4: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})/
DATE.3: /\d{4}-\d{2}-\d{2}/
NUMBER.2: /[+-]?(\d+(\.\d*)?|\.\d+)/
DATE_N_LITERAL.2: /(@N_LITERALS@):\d+/i
DATE_LITERAL.1: /(@LITERALS@)(?![A-Za-z0-9_])/i
STRING: /'(?:[^'\\]|\\.)*'/
NAME: /[A-Za-z][A-Za-z0-9_]*/
INT: /\d+/

%import common.WS
%ignore WS
"""
N_LITERALS = ("LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS",
              "LAST_N_MONTHS", "NEXT_N_MONTHS")
LITERALS = ("TODAY", "YESTERDAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK",
            "LAST_MONTH", "THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS",
            "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR")
GRAMMAR = GRAMMAR.replace("@N_LITERALS@", "|".join(N_LITERALS)).replace(
    "@LITERALS@", "|".join(LITERALS))


@dataclass(frozen=True)
class Literal:
    kind: str          # string, number, boolean, null, date, datetime, date_literal
    value: Any         # for strings: the raw text between the quotes, escapes kept


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    op: str            # = != < > <= >= like in not_in includes excludes
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str            # and, or, not
    items: tuple[Any, ...]


@dataclass(frozen=True)
class OrderItem:
    path: tuple[str, ...]
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[tuple[str, ...], ...]
    count: str | None          # None, "all" for COUNT(), "field" for COUNT(path)
    sobject: str
    where: Comparison | BoolOp | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


_OPS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


@v_args(inline=True)
class _ToAst(Transformer[Token, Any]):
    def path(self, *names: Token) -> tuple[str, ...]:
        return tuple(str(n) for n in names)

    def count_all(self) -> str:
        return "all"

    def count_field(self, path: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        return ("field", path)

    def select_list(self, *items: Any) -> Any:
        return items

    def string(self, token: Token) -> Literal:
        return Literal("string", str(token)[1:-1])

    def number(self, token: Token) -> Literal:
        text = str(token)
        return Literal("number", float(text) if "." in text else int(text))

    def datetime(self, token: Token) -> Literal:
        return Literal("datetime", str(token))

    def date(self, token: Token) -> Literal:
        return Literal("date", str(token))

    def true(self, _token: Token) -> Literal:
        return Literal("boolean", True)

    def false(self, _token: Token) -> Literal:
        return Literal("boolean", False)

    def null(self, _token: Token) -> Literal:
        return Literal("null", None)

    def date_literal(self, token: Token) -> Literal:
        return Literal("date_literal", (str(token).upper(), 0))

    def date_n_literal(self, token: Token) -> Literal:
        name, _, number = str(token).partition(":")
        return Literal("date_literal", (name.upper(), int(number)))

    def compare(self, path: tuple[str, ...], op: Token, value: Literal) -> Comparison:
        return Comparison(path, _OPS[str(op)], (value,))

    def like(self, path: tuple[str, ...], value: Literal) -> Comparison:
        return Comparison(path, "like", (value,))

    def in_(self, path: tuple[str, ...], *values: Literal) -> Comparison:
        return Comparison(path, "in", values)

    def not_in(self, path: tuple[str, ...], *values: Literal) -> Comparison:
        return Comparison(path, "not_in", values)

    def includes(self, path: tuple[str, ...], *values: Literal) -> Comparison:
        return Comparison(path, "includes", values)

    def excludes(self, path: tuple[str, ...], *values: Literal) -> Comparison:
        return Comparison(path, "excludes", values)

    def and_(self, *items: Any) -> BoolOp:
        return BoolOp("and", items)

    def or_(self, *items: Any) -> BoolOp:
        return BoolOp("or", items)

    def not_(self, item: Any) -> BoolOp:
        return BoolOp("not", (item,))

    def where(self, cond: Any) -> tuple[str, Any]:
        return ("where", cond)

    def order_item(self, path: tuple[str, ...], *mods: Token) -> OrderItem:
        descending = False
        nulls: str | None = None
        for mod in mods:
            if mod.type == "DIRECTION":
                descending = str(mod).upper() == "DESC"
            else:
                nulls = str(mod).upper().split()[-1]
        # Salesforce's default: nulls first ascending, last descending
        nulls_last = nulls == "LAST" if nulls else descending
        return OrderItem(path, descending, nulls_last)

    def order_by(self, *items: OrderItem) -> tuple[str, Any]:
        return ("order_by", items)

    def limit(self, token: Token) -> tuple[str, Any]:
        return ("limit", int(token))

    def offset(self, token: Token) -> tuple[str, Any]:
        return ("offset", int(token))

    def start(self, select: Any, sobject: Token, *clauses: tuple[str, Any]) -> Query:
        parts = dict(clauses)
        count: str | None = None
        fields: tuple[tuple[str, ...], ...] = ()
        if select == ("all",):
            count = "all"
        elif len(select) == 1 and isinstance(select[0], tuple) and select[0][0] == "field" \
                and isinstance(select[0][1], tuple):
            count, fields = "field", (select[0][1],)
        else:
            fields = tuple(select)
        return Query(fields, count, str(sobject), parts.get("where"),
                     tuple(parts.get("order_by", ())), parts.get("limit"), parts.get("offset"))


_PARSER = Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


@lru_cache(maxsize=512)
def parse(text: str) -> Query:
    """Parse SOQL, raising MALFORMED_QUERY with the position of the problem."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        snippet = text[max(0, exc.pos_in_stream or 0):][:40] if exc.pos_in_stream else ""
        raise malformed_query(
            f"\n{text}\nERROR at Row:{exc.line}:Column:{exc.column}\n"
            f"unexpected token: '{snippet.split(' ')[0] if snippet else ''}'"
        ) from None
    except LarkError as exc:
        raise malformed_query(str(exc)) from None
    result: Query = _ToAst().transform(tree)
    return result
