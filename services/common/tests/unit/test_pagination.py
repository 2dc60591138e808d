"""Cursor pagination on the test database backend (SQLite, or PostgreSQL with GUICHET_TEST_DATABASE)."""
import datetime as dt
import random

import pytest
import sqlalchemy as sa

from guichet_common.db import UtcDateTime, create_db_engine, new_metadata
from guichet_common.errors import InvalidInput
from guichet_common.pagination import Page, encode_cursor, page_args, paginate

metadata = new_metadata()
entries = sa.Table("entries", metadata,
                   sa.Column("id", sa.String(8), primary_key=True),
                   sa.Column("rank", sa.Integer, nullable=False),
                   sa.Column("created_at", UtcDateTime, nullable=False),
                   sa.Column("kind", sa.String(10), nullable=False))

BASE = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def engine(module_databases):
    engine = create_db_engine(module_databases.new("pagination"))
    metadata.create_all(engine)
    generator = random.Random(7)
    rows = [{"id": f"e{n:03d}", "rank": generator.randint(1, 4),
             # few distinct instants (microseconds included): many ties on the sort column
             "created_at": BASE + dt.timedelta(minutes=generator.randint(0, 5), microseconds=generator.choice([0, 17])),
             "kind": generator.choice(["mail", "sms"])} for n in range(83)]
    generator.shuffle(rows)
    with engine.begin() as connection:
        connection.execute(entries.insert(), rows)
    yield engine
    engine.dispose()


def walk(connection, statement, order_by, limit):
    """Every page from the first one: the ids in order, and the page sizes."""
    ids, sizes, cursor = [], [], None
    while True:
        page = paginate(connection, statement, order_by=order_by, cursor=cursor, limit=limit)
        ids += [row.id for row in page.items]
        sizes.append(len(page.items))
        if page.next_cursor is None:
            return ids, sizes
        cursor = page.next_cursor
        assert len(sizes) < 200, "pagination does not end"


ORDERS = {
    "newest first": ([entries.c.created_at.desc(), entries.c.id],
                     [entries.c.created_at.desc(), entries.c.id]),
    "oldest first, descending tie-breaker": ([entries.c.created_at, entries.c.id.desc()],
                                             [entries.c.created_at, entries.c.id.desc()]),
    "three columns, mixed directions": ([(entries.c.rank, False), (entries.c.created_at, True), (entries.c.id, False)],
                                        [entries.c.rank, entries.c.created_at.desc(), entries.c.id]),
    "all descending": ([entries.c.rank.desc(), entries.c.created_at.desc(), entries.c.id.desc()],
                       [entries.c.rank.desc(), entries.c.created_at.desc(), entries.c.id.desc()]),
}


@pytest.mark.parametrize("order", ORDERS, ids=list(ORDERS))
@pytest.mark.parametrize("limit", [1, 7, 20, 83, 100])
def test_the_pages_follow_the_order_without_gap_or_duplicate(engine, order, limit):
    order_by, sql_order = ORDERS[order]
    statement = sa.select(entries)
    with engine.connect() as connection:
        expected = list(connection.execute(sa.select(entries.c.id).order_by(*sql_order)).scalars())
        ids, sizes = walk(connection, statement, order_by, limit)
    assert ids == expected
    assert all(size == limit for size in sizes[:-1]) and 0 < sizes[-1] <= limit
    assert len(sizes) == -(-len(expected) // limit)  # an exact multiple ends without an empty page


def test_the_statement_filter_is_kept_on_every_page(engine):
    statement = sa.select(entries).where(entries.c.kind == "sms")
    order_by = [entries.c.created_at.desc(), entries.c.id]
    with engine.connect() as connection:
        expected = list(connection.execute(sa.select(entries.c.id).where(entries.c.kind == "sms")
                                           .order_by(entries.c.created_at.desc(), entries.c.id)).scalars())
        ids, _ = walk(connection, statement, order_by, 6)
    assert ids == expected and 0 < len(expected) < 83


def test_a_page_is_one_query(engine):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with engine.connect() as connection:
        first = paginate(connection, sa.select(entries), order_by=[entries.c.created_at.desc(), entries.c.id],
                         limit=5)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.connect() as connection:
            page = paginate(connection, sa.select(entries), order_by=[entries.c.created_at.desc(), entries.c.id],
                            cursor=first.next_cursor, limit=5)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(page.items) == 5 and page.next_cursor
    assert len(statements) == 1 and "LIMIT" in statements[0].upper()


def test_rows_added_before_the_cursor_do_not_shift_the_next_page(module_databases):
    engine = create_db_engine(module_databases.new("pagination"))
    metadata.create_all(engine)
    order_by = [entries.c.created_at.desc(), entries.c.id]
    try:
        with engine.begin() as connection:
            connection.execute(entries.insert(), [
                {"id": f"a{n}", "rank": 1, "created_at": BASE + dt.timedelta(seconds=n), "kind": "mail"}
                for n in range(6)])
        with engine.connect() as connection:
            first = paginate(connection, sa.select(entries), order_by=order_by, limit=3)
        with engine.begin() as connection:  # newer rows arrive while the reader looks at page one
            connection.execute(entries.insert(), [
                {"id": f"b{n}", "rank": 1, "created_at": BASE + dt.timedelta(hours=1, seconds=n), "kind": "mail"}
                for n in range(2)])
        with engine.connect() as connection:
            second = paginate(connection, sa.select(entries), order_by=order_by, cursor=first.next_cursor, limit=3)
    finally:
        engine.dispose()
    assert [r.id for r in first.items] == ["a5", "a4", "a3"]
    assert [r.id for r in second.items] == ["a2", "a1", "a0"] and second.next_cursor is None


def test_the_answer_is_items_and_next_cursor(engine):
    with engine.connect() as connection:
        page = paginate(connection, sa.select(entries.c.id, entries.c.rank), order_by=[entries.c.id], limit=2)
    assert page.to_dict(lambda row: row.id) == {"items": ["e000", "e001"], "next_cursor": page.next_cursor}
    assert set(page.to_dict()) == {"items", "next_cursor"} and isinstance(page, Page)
    assert "=" not in page.next_cursor and "+" not in page.next_cursor and "/" not in page.next_cursor


def test_an_empty_list_has_no_next_cursor(engine):
    with engine.connect() as connection:
        page = paginate(connection, sa.select(entries).where(entries.c.kind == "fax"), order_by=[entries.c.id])
    assert page == Page([], None)


@pytest.mark.parametrize("cursor", [
    "not base64 !", "bm90IGpzb24",  # "not json"
    encode_cursor(["e001"]),  # one value for a two-column key
    encode_cursor(["2026-11-25T09:00:00+00:00", "e001"]),  # text where a datetime is expected
    encode_cursor([dt.datetime(2026, 11, 25, 9), "e001"]),  # naive datetime for a UTC column
    encode_cursor([dt.datetime(2026, 11, 25, 9, tzinfo=dt.timezone.utc), 12]),  # number for a text id
    "W3sieCI6IjEifSwiZSJd",  # [{"x": "1"}, "e"]: unknown tag
    "x" * 1001,
    12,
])
def test_a_bad_cursor_is_refused_in_french(engine, cursor):
    with engine.connect() as connection, pytest.raises(InvalidInput) as caught:
        paginate(connection, sa.select(entries), order_by=[entries.c.created_at.desc(), entries.c.id], cursor=cursor)
    assert caught.value.errors == {"cursor": ["Curseur de page invalide : reprenez la liste depuis le début."]}


def test_a_cursor_of_a_datetime_key_round_trips_to_the_microsecond(engine):
    order_by = [entries.c.created_at, entries.c.id]
    with engine.connect() as connection:
        expected = list(connection.execute(sa.select(entries.c.id).order_by(*order_by)).scalars())
        cursor = encode_cursor([BASE + dt.timedelta(microseconds=17), ""])
        page = paginate(connection, sa.select(entries), order_by=order_by, cursor=cursor, limit=100)
    ids = [row.id for row in page.items]
    at_base = sum(1 for row in page.items if row.created_at == BASE)
    assert at_base == 0 and 0 < len(ids) < len(expected)
    assert ids == expected[len(expected) - len(ids):]  # a suffix: every row at or after BASE + 17 µs


@pytest.mark.parametrize("limit, message", [
    (0, "Entre 1 et 100 éléments par page."), (101, "Entre 1 et 100 éléments par page."),
    (-3, "Entre 1 et 100 éléments par page."), ("abc", "Nombre entier attendu."),
    (2.5, "Nombre entier attendu."), (True, "Nombre entier attendu."),
])
def test_a_bad_limit_is_refused_in_french(engine, limit, message):
    with pytest.raises(InvalidInput) as caught:
        page_args(None, limit)
    assert caught.value.errors == {"limit": [message]}
    with engine.connect() as connection, pytest.raises(InvalidInput):
        paginate(connection, sa.select(entries), order_by=[entries.c.id], limit=limit)


def test_page_args_defaults():
    assert page_args() == (None, 20)
    assert page_args("", None) == (None, 20)
    assert page_args(None, None, default=50) == (None, 50)
    assert page_args("abc", "7") == ("abc", 7)
    assert page_args(None, 100) == (None, 100)
    with pytest.raises(InvalidInput) as caught:
        page_args(["x"], 0)
    assert set(caught.value.errors) == {"cursor", "limit"}


def test_a_sort_column_missing_from_the_rows_is_a_programming_error(engine):
    with engine.connect() as connection, pytest.raises(ValueError, match="selected"):
        paginate(connection, sa.select(entries.c.id), order_by=[entries.c.rank, entries.c.id], limit=1)
