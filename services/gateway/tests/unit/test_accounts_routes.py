"""The accounts routes: bodies checked in French, the caller passed to the service, problems passed through."""
from guichet_common.errors import Forbidden
from guichet_common.rpc_client import RemoteProblem


def test_registration_passes_the_body_and_validate_only(client, fake_rpc):
    fake_rpc.replies[("accounts", "register")] = lambda **call: {"valid": True} if call["kwargs"]["validate_only"] \
        else {"account_id": "a-1"}
    body = {"civility": "madame", "first_name": "Jeanne", "email": "j@example.org", "phones": {"mobile": "0612"},
            "cgu_accepted": True}
    recap = client.post("/api/v1/accounts/registrations?validate_only=true", json=body)
    assert recap.status_code == 200 and recap.get_json() == {"valid": True}
    created = client.post("/api/v1/accounts/registrations", json=body)
    assert created.status_code == 201
    call = fake_rpc.calls_to("accounts", "register")[-1]
    assert call["kwargs"]["registration"] == body and call["caller"] is None


def test_bad_bodies_are_french_problems(client):
    response = client.post("/api/v1/auth/login", json={"identifiant": "x"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["identifier"] == ["Ce champ est obligatoire."] or "obligatoire" in errors["identifier"][0]
    assert "identifiant" in errors


def test_login_sends_the_client_address_and_service_problems_pass_through(client, fake_rpc):
    fake_rpc.replies[("accounts", "login")] = RemoteProblem({
        "type": "urn:guichet:problem:login-failed", "title": "Connexion refusée", "status": 401,
        "detail": "Identifiant ou mot de passe incorrect."})
    response = client.post("/api/v1/auth/login", json={"identifier": "a", "password": "b"})
    assert response.status_code == 401
    assert response.get_json()["detail"] == "Identifiant ou mot de passe incorrect."
    assert fake_rpc.calls_to("accounts", "login")[0]["kwargs"]["ip"] == "127.0.0.1"


def test_me_needs_a_citizen_token_and_passes_the_caller(client, fake_rpc, signing_key, auth_header):
    assert client.get("/api/v1/me").status_code == 401
    fake_rpc.replies[("accounts", "me")] = lambda **call: {"account_id": call["caller"].subject}
    response = client.get("/api/v1/me", headers=auth_header(signing_key.token(sub="acc-9")))
    assert response.get_json() == {"account_id": "acc-9"}
    agent = signing_key.token(sub="ag-1", kind="agent", roles=["administrator"])
    assert client.get("/api/v1/me", headers=auth_header(agent)).status_code == 403


def test_household_routes_reach_the_service_with_the_member_id(client, fake_rpc, signing_key, auth_header):
    headers = auth_header(signing_key.token(sub="acc-1"))
    fake_rpc.replies[("accounts", "add_member")] = {"member_id": "m-1"}
    fake_rpc.replies[("accounts", "update_member")] = Forbidden()
    assert client.post("/api/v1/me/household/members", json={"role": "enfant", "first_name": "Léa"},
                       headers=headers).status_code == 201
    response = client.patch("/api/v1/me/household/members/m-2", json={"first_name": "Zoé"}, headers=headers)
    assert response.status_code == 403
    call = fake_rpc.calls_to("accounts", "update_member")[0]
    assert call["kwargs"] == {"member_id": "m-2", "changes": {"first_name": "Zoé"}}


def test_agent_routes_need_the_role(client, fake_rpc, signing_key, auth_header):
    fake_rpc.replies[("accounts", "agent_search")] = {"items": []}
    citizen = auth_header(signing_key.token(sub="acc-1"))
    voirie = auth_header(signing_key.token(sub="ag-1", kind="agent", roles=["voirie"]))
    validator = auth_header(signing_key.token(sub="ag-2", kind="agent", roles=["account_validator"]))
    assert client.get("/api/v1/agent/accounts", headers=citizen).status_code == 403
    assert client.get("/api/v1/agent/accounts", headers=voirie).status_code == 403
    assert client.get("/api/v1/agent/accounts?status=awaiting_validation", headers=validator).status_code == 200
    assert fake_rpc.calls_to("accounts", "agent_search")[0]["kwargs"]["status"] == "awaiting_validation"


def test_login_is_rate_limited(client, fake_rpc):
    fake_rpc.replies[("accounts", "login")] = {"access_token": "x"}
    statuses = [client.post("/api/v1/auth/login", json={"identifier": "a", "password": "b"}).status_code
                for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_captcha_route(client, fake_rpc):
    fake_rpc.replies[("accounts", "new_captcha")] = {"captcha_id": "c-1", "image": "data:image/png;base64,xx",
                                                     "expires_in": 600, "audio_label": "Écouter"}
    response = client.get("/api/v1/captcha")
    assert response.status_code == 200
    assert response.get_json() == {"captcha_id": "c-1", "image": "data:image/png;base64,xx", "expires_in": 600,
                                   "audio_label": "Écouter", "audio_url": "/api/v1/captcha/c-1/audio"}


def test_captcha_audio_is_wav_bytes_and_an_unknown_captcha_a_french_404(client, fake_rpc):
    import base64

    from guichet_common.errors import NotFound

    wav = b"RIFF\x24\x00\x00\x00WAVEfmt "

    def captcha_audio(kwargs, **call):
        if kwargs["captcha_id"] != "c-1":
            raise NotFound("Ce cryptogramme n'est plus valable.", slug="captcha-not-found")
        return {"captcha_id": "c-1", "content_type": "audio/wav", "audio": base64.b64encode(wav).decode()}

    fake_rpc.replies[("accounts", "captcha_audio")] = captcha_audio
    response = client.get("/api/v1/captcha/c-1/audio")
    assert response.status_code == 200 and response.mimetype == "audio/wav" and response.data == wav
    assert response.headers["Cache-Control"] == "no-store"
    unknown = client.get("/api/v1/captcha/c-2/audio")
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert unknown.get_json()["type"] == "urn:guichet:problem:captcha-not-found"
    assert unknown.get_json()["detail"] == "Ce cryptogramme n'est plus valable."
    assert client.get("/api/v1/captcha/" + "x" * 65 + "/audio").status_code == 404  # no RPC for that
    assert [call["kwargs"] for call in fake_rpc.calls_to("accounts", "captcha_audio")] == [
        {"captcha_id": "c-1"}, {"captcha_id": "c-2"}]


def test_captcha_audio_is_rate_limited_and_documented(client, fake_rpc):
    fake_rpc.replies[("accounts", "captcha_audio")] = {"audio": "", "content_type": "audio/wav"}
    statuses = [client.get("/api/v1/captcha/c-1/audio").status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429
    document = client.get("/api/openapi.json").get_json()
    operation = document["paths"]["/api/v1/captcha/{captcha_id}/audio"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["audio/wav"]
    assert "404" in operation["responses"]
    captcha = document["paths"]["/api/v1/captcha"]["get"]["responses"]["200"]["content"]["application/json"]
    assert "$ref" in captcha["schema"] or "audio_url" in captcha["schema"]["properties"]


def test_csv_import_is_for_administrators_and_checks_the_file(client, fake_rpc, signing_key, auth_header):
    import io

    fake_rpc.replies[("accounts", "agent_import_families")] = [{"line": 2, "login": "paul.hoarau"}]
    admin = auth_header(signing_key.token(sub="ag-1", kind="agent", roles=["administrator"]))
    enfance = auth_header(signing_key.token(sub="ag-2", kind="agent", roles=["enfance"]))
    csv_bytes = "birth_name;first_name\nHoarau;Paul\n".encode("utf-8-sig")

    def upload(headers, content=csv_bytes, name="familles.csv", mimetype="text/csv"):
        return client.post("/api/v1/agent/accounts/imports", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content), name, mimetype)})

    assert upload(enfance).status_code == 403
    response = upload(admin)
    assert response.status_code == 200 and response.get_json() == {"lines": [{"line": 2, "login": "paul.hoarau"}]}
    call = fake_rpc.calls_to("accounts", "agent_import_families")[0]
    assert call["kwargs"] == {"csv_text": "birth_name;first_name\nHoarau;Paul\n"}  # BOM removed
    assert call["caller"].subject == "ag-1"
    latin1 = upload(admin, "birth_name;first_name\nLégé;Zoé\n".encode("cp1252"))
    assert latin1.status_code == 200
    assert fake_rpc.calls_to("accounts", "agent_import_families")[1]["kwargs"]["csv_text"].endswith("Légé;Zoé\n")

    for bad in (upload(admin, name="familles.pdf", mimetype="application/pdf"),
                upload(admin, content=b"a;b\n" + b"x" * (1024 * 1024)),
                upload(admin, content=b"%PDF\0\0binary", name="f.csv")):
        assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
        assert bad.get_json()["type"] == "urn:guichet:problem:invalid-upload" and bad.get_json()["errors"]["file"]
    assert len(fake_rpc.calls_to("accounts", "agent_import_families")) == 2
    missing = client.post("/api/v1/agent/accounts/imports", headers=admin, content_type="multipart/form-data",
                          data={})
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]


def test_family_file_reference_and_audit_routes(client, fake_rpc, signing_key, auth_header):
    fake_rpc.replies[("accounts", "agent_set_family_file")] = {"account_id": "a-1", "family_file_ref": "F-1"}
    fake_rpc.replies[("accounts", "agent_audit")] = {"items": [{"agent_id": "ag-1", "action": "login"}],
                                                     "next_cursor": None}
    regisseur = auth_header(signing_key.token(sub="ag-3", kind="agent", roles=["regisseur"]))
    voirie = auth_header(signing_key.token(sub="ag-4", kind="agent", roles=["voirie"]))
    admin = auth_header(signing_key.token(sub="ag-1", kind="agent", roles=["administrator"]))
    assert client.put("/api/v1/agent/accounts/a-1/family-file", json={"family_file_ref": "F-1"},
                      headers=voirie).status_code == 403
    response = client.put("/api/v1/agent/accounts/a-1/family-file", json={"family_file_ref": "F-1"},
                          headers=regisseur)
    assert response.status_code == 200
    assert fake_rpc.calls_to("accounts", "agent_set_family_file")[0]["kwargs"] == {"account_id": "a-1",
                                                                                  "family_file_ref": "F-1"}
    assert client.get("/api/v1/agent/audit", headers=regisseur).status_code == 403
    audit = client.get("/api/v1/agent/audit?limit=10", headers=admin)
    assert audit.status_code == 200 and audit.get_json()["items"][0]["action"] == "login"
    assert fake_rpc.calls_to("accounts", "agent_audit")[0]["kwargs"] == {"cursor": None, "limit": 10}
    assert client.get("/api/v1/agent/audit?limit=101", headers=admin).status_code == 422
    client.get("/api/v1/agent/audit", headers=admin)
    assert fake_rpc.calls_to("accounts", "agent_audit")[1]["kwargs"] == {"cursor": None, "limit": 50}


def test_school_routes_are_for_enfance_agents(client, fake_rpc, signing_key, auth_header):
    fake_rpc.replies[("accounts", "agent_set_school")] = lambda **call: {"school": call["kwargs"]["school"]}
    enfance = auth_header(signing_key.token(sub="ag-5", kind="agent", roles=["enfance"]))
    voirie = auth_header(signing_key.token(sub="ag-4", kind="agent", roles=["voirie"]))
    school = {"school_year": "2026-2027", "school": "École Jules Ferry", "level": "CM1"}
    url = "/api/v1/agent/accounts/a-1/members/m-1/school"
    assert client.put(url, json=school, headers=voirie).status_code == 403
    response = client.put(url, json=school, headers=enfance)
    assert response.status_code == 200 and response.get_json()["school"] == school
    assert fake_rpc.calls_to("accounts", "agent_set_school")[0]["kwargs"] == {
        "account_id": "a-1", "member_id": "m-1", "school": school}
    assert client.put(url, json={"school_year": "x" * 20}, headers=enfance).status_code == 422
    assert client.delete(url, headers=enfance).status_code == 200
    assert fake_rpc.calls_to("accounts", "agent_set_school")[-1]["kwargs"]["school"] is None


def test_agent_search_is_paged_by_cursor(client, fake_rpc, signing_key, auth_header):
    summary = {"account_id": "a-1", "status": "active", "account_type": "particulier", "provisioned": False,
               "civility": None, "first_name": "Jeanne", "birth_name": "Martin", "usage_name": None,
               "email": None, "login": "jeanne.martin", "created_at": "2026-03-04T10:00:00+00:00"}
    pages = {None: {"items": [summary], "next_cursor": "c2"}, "c2": {"items": [], "next_cursor": None}}
    fake_rpc.replies[("accounts", "agent_search")] = lambda kwargs, **call: pages[kwargs["cursor"]]
    validator = auth_header(signing_key.token(sub="ag-2", kind="agent", roles=["account_validator"]))
    first = client.get("/api/v1/agent/accounts?q=martin&limit=1", headers=validator)
    assert first.status_code == 200 and first.get_json() == {"items": [summary], "next_cursor": "c2"}
    second = client.get("/api/v1/agent/accounts?limit=1&cursor=" + first.get_json()["next_cursor"], headers=validator)
    assert second.get_json() == {"items": [], "next_cursor": None}
    assert [call["kwargs"] for call in fake_rpc.calls_to("accounts", "agent_search")] == [
        {"query": "martin", "status": None, "cursor": None, "limit": 1},
        {"query": None, "status": None, "cursor": "c2", "limit": 1}]
    for bad in ("limit=0", "limit=101", "cursor=" + "x" * 1001, "status=deleted"):
        refused = client.get("/api/v1/agent/accounts?" + bad, headers=validator)
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json", bad
    assert len(fake_rpc.calls_to("accounts", "agent_search")) == 2


def test_a_bad_cursor_refused_by_the_service_is_a_french_422(client, fake_rpc, signing_key, auth_header):
    from guichet_common.errors import InvalidInput
    from guichet_common.pagination import BAD_CURSOR

    fake_rpc.replies[("accounts", "agent_audit")] = InvalidInput(errors={"cursor": [BAD_CURSOR]})
    admin = auth_header(signing_key.token(sub="ag-1", kind="agent", roles=["administrator"]))
    response = client.get("/api/v1/agent/audit?cursor=forged", headers=admin)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {"cursor": [BAD_CURSOR]}


def test_answers_hold_the_documented_fields_only(client, fake_rpc, signing_key, auth_header):
    """The gateway dumps each answer through the route's schema: a field the contract does not list never
    leaves (here a password hash a service would have leaked)."""
    fake_rpc.replies[("accounts", "household")] = {
        "members": [{"member_id": "m-1", "role": "titulaire", "first_name": "Jeanne", "password_hash": "x"}],
        "family_file_ref": None, "password_hash": "x"}
    response = client.get("/api/v1/me/household/members", headers=auth_header(signing_key.token(sub="acc-1")))
    assert response.get_json() == {"members": [{"member_id": "m-1", "role": "titulaire", "first_name": "Jeanne"}],
                                   "family_file_ref": None}


def test_registration_and_profile_changes_are_checked_by_the_service_in_one_pass(client, fake_rpc, signing_key,
                                                                                 auth_header):
    """The town's rules decide what a registration needs: the gateway passes the body as sent (the service
    answers every problem at once) and documents it with the contract's schema."""
    fake_rpc.replies[("accounts", "register")] = {"account_id": "a-1", "status": "pending_activation",
                                                  "message": "ok"}
    fake_rpc.replies[("accounts", "update_me")] = {"account_id": "acc-1"}
    body = {"email": "pas-un-email", "unknown": 1}
    assert client.post("/api/v1/accounts/registrations", json=body).status_code == 201
    assert fake_rpc.calls_to("accounts", "register")[-1]["kwargs"]["registration"] == body
    headers = auth_header(signing_key.token(sub="acc-1"))
    assert client.patch("/api/v1/me", json={"birth_date": "1988-03-04"}, headers=headers).status_code == 200
    assert fake_rpc.calls_to("accounts", "update_me")[-1]["kwargs"]["changes"] == {"birth_date": "1988-03-04"}
    broken = client.post("/api/v1/accounts/registrations", data="{", content_type="application/json")
    assert broken.status_code == 400 and broken.get_json()["type"] == "urn:guichet:problem:invalid-json"
    document = client.get("/api/openapi.json").get_json()
    operation = document["paths"]["/api/v1/accounts/registrations"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Registration"}
    assert set(operation["responses"]) >= {"200", "201", "400", "422", "429"}


def test_member_bodies_are_checked_at_the_gateway_and_passed_as_sent(client, fake_rpc, signing_key, auth_header):
    fake_rpc.replies[("accounts", "add_member")] = {"member_id": "m-1", "role": "enfant"}
    headers = auth_header(signing_key.token(sub="acc-1"))
    child = {"role": "enfant", "first_name": "Léa", "birth_date": "2017-09-01"}
    assert client.post("/api/v1/me/household/members", json=child, headers=headers).status_code == 201
    assert fake_rpc.calls_to("accounts", "add_member")[0]["kwargs"]["member"] == child
    refused = client.post("/api/v1/me/household/members", json={"role": "chien", "first_name": "Rex"},
                          headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"role": ["Choisissez un rôle : conjoint, enfant ou autre."]}
    assert len(fake_rpc.calls_to("accounts", "add_member")) == 1
