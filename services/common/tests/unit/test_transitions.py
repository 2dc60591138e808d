"""Guarded status changes on the test database backend (SQLite, or PostgreSQL with GUICHET_TEST_DATABASE)."""
import enum
import json
import threading

import pytest
import sqlalchemy as sa
from guichet_probe.contracts import NOTE_CREATED

from guichet_common.db import Database, UtcDateTime, messaging_tables, new_metadata, utcnow
from guichet_common.transitions import IllegalTransition, Outcome, StatusMachine, Transitions

metadata = new_metadata()
messaging_tables(metadata)
requests = sa.Table("requests", metadata,
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("status", sa.String(20), nullable=False),
                    sa.Column("reason", sa.String(100), nullable=True))
request_events = sa.Table("request_events", metadata,
                          sa.Column("id", sa.Integer, primary_key=True),
                          sa.Column("request_id", sa.Integer, nullable=False),
                          sa.Column("status", sa.String(20), nullable=False),
                          sa.Column("detail", sa.String(30), nullable=True),
                          sa.Column("agent", sa.String(20), nullable=True),
                          sa.Column("at", UtcDateTime, nullable=False))


class Status(str, enum.Enum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    CLOSED = "closed"


S = Status
FLOW = Transitions({S.SUBMITTED: {S.ACCEPTED, S.REFUSED}, S.ACCEPTED: {S.CLOSED}, S.REFUSED: set()},
                   name="request")
MACHINE = StatusMachine(requests, FLOW, history=request_events, history_key="request_id")


@pytest.fixture
def db(databases):
    database = Database("probe", databases.new("transitions"), metadata)  # "probe" may publish NOTE_CREATED
    metadata.create_all(database.engine)
    with database.engine.begin() as connection:
        connection.execute(requests.insert(), [{"id": n, "status": "submitted"} for n in (1, 2, 3)])
    yield database
    database.dispose()


def state(db, request_id):
    with db.engine.connect() as connection:
        status = connection.execute(sa.select(requests.c.status).where(requests.c.id == request_id)).scalar_one()
        history = connection.execute(sa.select(request_events.c.status, request_events.c.detail, request_events.c.agent)
                                     .where(request_events.c.request_id == request_id)
                                     .order_by(request_events.c.id)).all()
        outbox = [json.loads(body) for body in connection.execute(sa.select(db.outbox.c.body)).scalars()]
    return status, [tuple(line) for line in history], outbox


def test_the_table_says_what_may_follow():
    assert FLOW.can("submitted", S.ACCEPTED) and FLOW.can(S.SUBMITTED, "refused")
    assert not FLOW.can(S.ACCEPTED, S.SUBMITTED) and not FLOW.can(S.REFUSED, S.CLOSED)
    assert not FLOW.can(S.CLOSED, S.ACCEPTED)  # not in the table: moves nowhere
    assert FLOW.targets(S.SUBMITTED) == {"accepted", "refused"}
    with pytest.raises(IllegalTransition, match="request accepted -> submitted"):
        FLOW.check(S.ACCEPTED, S.SUBMITTED)


def test_a_change_updates_writes_its_history_and_publishes_its_outcome(db):
    now = utcnow()
    with db.unit_of_work() as uow:
        applied = MACHINE.change(uow, 1, current=S.SUBMITTED, new=S.REFUSED, changes={"reason": "incomplet"},
                                 detail="pièce justificative manquante depuis trois semaines", at=now,
                                 history_values={"agent": "agent-7"},
                                 outcome=Outcome(NOTE_CREATED.type, {"note_id": 1, "text": "refusée"},
                                                 subject="request/1"))
        uow.commit()
    assert applied is True
    status, history, outbox = state(db, 1)
    assert status == "refused"
    assert history == [("refused", "pièce justificative manquante ", "agent-7")]  # cut to the column's 30
    assert [(m["type"], m["subject"], m["data"]) for m in outbox] == [
        (NOTE_CREATED.type, "request/1", {"note_id": 1, "text": "refusée"})]
    with db.engine.connect() as connection:
        assert connection.execute(sa.select(requests.c.reason).where(requests.c.id == 1)).scalar_one() == "incomplet"


def test_nothing_is_kept_unless_the_caller_commits(db):
    with db.unit_of_work() as uow:
        assert MACHINE.change(uow, 1, current="submitted", new="accepted",
                              outcome=Outcome(NOTE_CREATED.type, {"note_id": 1, "text": "x"}))
    assert state(db, 1) == ("submitted", [], [])


def test_an_illegal_change_raises_and_writes_nothing(db):
    with db.unit_of_work() as uow, pytest.raises(IllegalTransition):
        MACHINE.change(uow, 1, current=S.SUBMITTED, new=S.CLOSED)
    assert state(db, 1) == ("submitted", [], [])


def test_a_stale_status_changes_nothing(db):
    with db.unit_of_work() as uow:
        assert MACHINE.change(uow, 2, current=S.SUBMITTED, new=S.ACCEPTED)
        uow.commit()
    with db.unit_of_work() as uow:  # read as submitted before the change above: it lost
        assert MACHINE.change(uow, 2, current=S.SUBMITTED, new=S.REFUSED,
                              outcome=Outcome(NOTE_CREATED.type, {"note_id": 2, "text": "x"})) is False
        uow.commit()
    assert state(db, 2) == ("accepted", [("accepted", None, None)], [])
    with db.unit_of_work() as uow:
        assert MACHINE.change(uow, 404, current=S.SUBMITTED, new=S.ACCEPTED) is False


def test_without_history_or_outcome_only_the_row_changes(db):
    bare = StatusMachine(requests, FLOW)
    with db.unit_of_work() as uow:
        assert bare.change(uow, 3, current=S.SUBMITTED, new=S.ACCEPTED)
        uow.commit()
    assert state(db, 3) == ("accepted", [], [])
    with pytest.raises(ValueError, match="history_key"):
        StatusMachine(requests, FLOW, history=request_events)


def test_two_concurrent_changes_of_one_row_apply_once(db):
    """Both read ``submitted``; one accepts, one refuses, at the same time: exactly one wins."""
    both_read = threading.Barrier(2, timeout=10)
    results, errors = {}, []

    def decide(new, text):
        try:
            with db.unit_of_work() as uow:
                current = uow.session.execute(sa.select(requests.c.status).where(requests.c.id == 1)).scalar_one()
                both_read.wait()
                results[new] = MACHINE.change(uow, 1, current=current, new=new, detail=text,
                                              outcome=Outcome(NOTE_CREATED.type, {"note_id": 1, "text": text}))
                uow.commit()
        except Exception as error:  # reported below: a thread's exception would be lost
            errors.append(error)

    threads = [threading.Thread(target=decide, args=("accepted", "acceptée")),
               threading.Thread(target=decide, args=("refused", "refusée"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert sorted(results.values()) == [False, True]
    winner = next(new for new, applied in results.items() if applied)
    status, history, outbox = state(db, 1)
    assert status == winner
    assert [line[0] for line in history] == [winner]
    assert [m["data"]["text"] for m in outbox] == [history[0][1]]
