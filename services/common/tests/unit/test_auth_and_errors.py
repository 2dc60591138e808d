import pytest

from guichet_common.auth import Caller
from guichet_common.errors import Forbidden, InvalidInput, NotFound, Unauthenticated


def test_a_citizen_reaches_only_their_own_account():
    caller = Caller(kind="citizen", subject="acc-1")
    caller.require_citizen("acc-1")
    with pytest.raises(Forbidden):
        caller.require_citizen("acc-2")
    with pytest.raises(Forbidden):
        caller.require_agent()


def test_agents_need_one_of_the_roles_and_administrators_hold_them_all():
    Caller(kind="agent", subject="ag-1", roles=("voirie",)).require_agent("voirie", "etat_civil")
    Caller(kind="agent", subject="ag-2", roles=("administrator",)).require_agent("enfance")
    with pytest.raises(Forbidden):
        Caller(kind="agent", subject="ag-3", roles=("voirie",)).require_agent("enfance")


def test_anonymous_callers_must_log_in():
    with pytest.raises(Unauthenticated):
        Caller.from_header(None).require_citizen()


def test_caller_header_round_trip():
    caller = Caller(kind="agent", subject="ag-1", roles=("voirie",), session="s-1")
    assert Caller.from_header(caller.to_header()) == caller


def test_problems_have_a_stable_type_and_a_french_detail():
    problem = InvalidInput(errors={"email": ["Adresse électronique invalide."]}).problem()
    assert problem == {"type": "urn:guichet:problem:validation", "title": "Données invalides", "status": 422,
                       "detail": "Certaines informations saisies sont invalides.",
                       "errors": {"email": ["Adresse électronique invalide."]}}
    assert NotFound("Démarche introuvable.").problem()["detail"] == "Démarche introuvable."
