"""Cursor (keyset) pagination: the one way every Guichet list is paged.

Wire format (RPC kwargs and HTTP query parameters): ``cursor`` (opaque,
optional) and ``limit`` (1..100, default 20); the answer is
``{"items": [...], "next_cursor": "<opaque>" | None}``.

The cursor is the base64url JSON of the last row's sort key. The next page is
the rows strictly after that key in the list's order, so rows inserted or
deleted meanwhile never shift a page (no duplicates, no gaps, unlike OFFSET),
and each page is one query of ``limit + 1`` rows whatever its depth::

    page = paginate(session, sa.select(notifications).where(...),
                    order_by=[notifications.c.created_at.desc(), notifications.c.id],
                    cursor=cursor, limit=limit)
    return page.to_dict(summary)

The sort key must end with a unique column (the tie-breaker), its columns must
be selected by the statement and never NULL, and the statement must not carry
its own ORDER BY or LIMIT.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Generic, Iterable, Sequence, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.types import TypeDecorator

from .errors import InvalidInput

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 1000

BAD_CURSOR = "Curseur de page invalide : reprenez la liste depuis le début."
NOT_AN_INTEGER = "Nombre entier attendu."

T = TypeVar("T")
R = TypeVar("R")


def _limit_message(maximum: int) -> str:
    return f"Entre 1 et {maximum} éléments par page."


def _bad_cursor() -> InvalidInput:
    return InvalidInput(errors={"cursor": [BAD_CURSOR]})


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its rows in order, and the cursor of the next page (None on the last one)."""

    items: list[T]
    next_cursor: str | None

    def to_dict(self, dump: Callable[[T], Any] | None = None) -> dict:
        """The wire answer ``{"items", "next_cursor"}``, each row through ``dump`` if given."""
        items = [dump(item) for item in self.items] if dump else list(self.items)
        return {"items": items, "next_cursor": self.next_cursor}


def page_args(cursor: Any = None, limit: Any = None, *, default: int = DEFAULT_LIMIT,
              maximum: int = MAX_LIMIT) -> tuple[str | None, int]:
    """``(cursor, limit)`` checked as RPC kwargs arrive: a missing limit is ``default``.

    Raises :class:`InvalidInput` with French messages per field."""
    errors: dict[str, list[str]] = {}
    if cursor == "":
        cursor = None
    if cursor is not None and (not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH):
        errors["cursor"] = [BAD_CURSOR]
    if limit is None or limit == "":
        limit = default
    elif isinstance(limit, str) and limit.strip().isdigit():
        limit = int(limit)
    if isinstance(limit, bool) or not isinstance(limit, int):
        errors["limit"] = [NOT_AN_INTEGER]
    elif not 1 <= limit <= maximum:
        errors["limit"] = [_limit_message(maximum)]
    if errors:
        raise InvalidInput(errors=errors)
    return cursor, limit


# --- the sort key --------------------------------------------------------------

@dataclass(frozen=True)
class SortColumn:
    column: ColumnElement
    descending: bool = False


OrderItem = Any  # a column, ``column.desc()`` / ``column.asc()``, or ``(column, descending)``


def sort_columns(order_by: Iterable[OrderItem]) -> list[SortColumn]:
    """The sort key as columns with their direction."""
    result = []
    for item in order_by:
        if isinstance(item, SortColumn):
            result.append(item)
        elif isinstance(item, tuple):
            column, descending = item
            result.append(SortColumn(column, bool(descending)))
        elif isinstance(item, UnaryExpression) and item.modifier in (operators.desc_op, operators.asc_op):
            result.append(SortColumn(item.element, item.modifier is operators.desc_op))
        else:
            result.append(SortColumn(item))
    if not result:
        raise ValueError("a paginated list needs a sort key ending with a unique column")
    return result


def _after(key: Sequence[SortColumn], values: Sequence[Any]) -> ColumnElement:
    """Rows strictly after ``values`` in the order of ``key``.

    (a, b) after (x, y) is ``a > x OR (a = x AND b > y)`` (``<`` for a descending
    column); the redundant ``a >= x`` in front lets the database walk an index
    on the first column from the cursor on.
    """
    def beyond(sort: SortColumn, value) -> ColumnElement:
        return sort.column < value if sort.descending else sort.column > value

    alternatives = []
    for index, sort in enumerate(key):
        equal = [key[i].column == values[i] for i in range(index)]
        alternatives.append(sa.and_(*equal, beyond(sort, values[index])))
    first = key[0]
    bound = first.column <= values[0] if first.descending else first.column >= values[0]
    return sa.and_(bound, sa.or_(*alternatives))


# --- the cursor ----------------------------------------------------------------

def _encode_value(value: Any) -> Any:
    if value is None:
        raise ValueError("a sort key column is NULL: paginate on NOT NULL columns only")
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if isinstance(value, (bool, int, float, str)):
        return value
    return {"s": str(value)}  # UUID and the like: compared as their text


def _decode_value(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return value
    if not (isinstance(value, dict) and len(value) == 1):
        raise ValueError("unknown cursor value")
    (tag, text), = value.items()
    if not isinstance(text, str):
        raise ValueError("cursor value is not text")
    if tag == "t":
        return dt.datetime.fromisoformat(text)
    if tag == "d":
        return dt.date.fromisoformat(text)
    if tag == "n":
        return Decimal(text)
    if tag == "s":
        return text
    raise ValueError("unknown cursor tag")


def encode_cursor(values: Sequence[Any]) -> str:
    text = json.dumps([_encode_value(v) for v in values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _python_type(column: ColumnElement) -> type:
    column_type = column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    try:
        return column_type.python_type
    except NotImplementedError:
        return object


def _check_type(sort: SortColumn, value: Any) -> Any:
    """A forged cursor's value of the wrong type would fail in the database: refused here instead."""
    expected = _python_type(sort.column)
    if expected is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise ValueError("cursor value of the wrong type")
    if isinstance(value, dt.datetime) and getattr(sort.column.type, "timezone", False) and value.tzinfo is None:
        raise ValueError("naive datetime for a timezone-aware column")
    return value


def decode_cursor(cursor: str, key: Sequence[SortColumn]) -> list[Any]:
    """The sort key values of ``cursor``, checked against the columns of ``key``, or :class:`InvalidInput`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw.decode())
        if not isinstance(values, list) or len(values) != len(key):
            raise ValueError("wrong cursor size")
        return [_check_type(sort, _decode_value(value)) for sort, value in zip(key, values, strict=True)]
    except (binascii.Error, UnicodeDecodeError, ValueError, InvalidOperation, TypeError):
        raise _bad_cursor() from None


def _row_key(row: Any, key: Sequence[SortColumn]) -> list[Any]:
    mapping = row._mapping
    try:
        return [mapping[sort.column] for sort in key]
    except KeyError:
        raise ValueError("every sort key column must be selected by the paginated statement") from None


# --- the query -----------------------------------------------------------------

def paginate(executor: Any, statement: sa.Select, *, order_by: Iterable[OrderItem], cursor: Any = None,
             limit: Any = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> Page:
    """Run ``statement`` for one page: one query of ``limit + 1`` rows from after ``cursor``.

    ``executor``: a Session or Connection. ``order_by``: the sort key, ending with a
    unique column. Raises :class:`InvalidInput` for a bad cursor or limit.
    """
    cursor, limit = page_args(cursor, limit, default=DEFAULT_LIMIT, maximum=maximum)
    key = sort_columns(order_by)
    if cursor is not None:
        statement = statement.where(_after(key, decode_cursor(cursor, key)))
    ordering = [sort.column.desc() if sort.descending else sort.column.asc() for sort in key]
    rows = executor.execute(statement.order_by(*ordering).limit(limit + 1)).all()
    if len(rows) <= limit:
        return Page(list(rows), None)
    items = list(rows[:limit])
    return Page(items, encode_cursor(_row_key(items[-1], key)))
