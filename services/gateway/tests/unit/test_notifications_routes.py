"""The notifications routes: the caller passed to the service, queries checked in French."""
from guichet_common.errors import Forbidden, GuichetError

NOTIFICATION = {"id": "n-1", "template": "reminder", "channel": "email", "status": "sent", "reference": None,
                "subject": "Rappel", "created_at": "2026-03-02T09:00:00+00:00", "sent_at": None,
                "failure_reason": None}


def test_my_notifications_needs_a_citizen_and_pages_by_cursor(client, fake_rpc, signing_key, auth_header):
    assert client.get("/api/v1/me/notifications").status_code == 401
    fake_rpc.replies[("notifications", "my_notifications")] = {
        "items": [{**NOTIFICATION, "recipient_address": "jeanne@example.org"}], "next_cursor": "c-2"}
    citizen = auth_header(signing_key.token(sub="acc-9"))
    response = client.get("/api/v1/me/notifications?cursor=c-1&limit=5", headers=citizen)
    # The answer is the page schema's fields only (an agent's field the service would send is not passed on).
    assert response.status_code == 200 and response.get_json() == {"items": [NOTIFICATION], "next_cursor": "c-2"}
    call = fake_rpc.calls_to("notifications", "my_notifications")[0]
    assert call["caller"].subject == "acc-9" and call["kwargs"] == {"cursor": "c-1", "limit": 5}
    client.get("/api/v1/me/notifications", headers=citizen)
    assert fake_rpc.calls_to("notifications", "my_notifications")[1]["kwargs"] == {"cursor": None, "limit": 20}
    for query, field in (("limit=1000", "limit"), ("limit=0", "limit"), ("limit=dix", "limit"),
                         ("cursor=" + "x" * 1001, "cursor")):
        bad = client.get("/api/v1/me/notifications?" + query, headers=citizen)
        assert bad.status_code == 422 and field in bad.get_json()["errors"], query


def test_agent_search_resend_and_preview(client, fake_rpc, signing_key, auth_header):
    citizen = auth_header(signing_key.token(sub="acc-1"))
    agent = auth_header(signing_key.token(sub="ag-1", kind="agent", roles=["agent_accueil"]))
    assert client.get("/api/v1/agent/notifications", headers=citizen).status_code == 403
    fake_rpc.replies[("notifications", "search_notifications")] = {"items": [], "next_cursor": None}
    response = client.get("/api/v1/agent/notifications?failed=true&template=reminder&limit=3", headers=agent)
    assert response.status_code == 200 and response.get_json() == {"items": [], "next_cursor": None}
    assert fake_rpc.calls_to("notifications", "search_notifications")[0]["kwargs"] == {
        "status": None, "recipient": None, "template": "reminder", "failed": True, "cursor": None, "limit": 3}
    assert client.get("/api/v1/agent/notifications?status=perdu", headers=agent).status_code == 422
    fake_rpc.replies[("notifications", "resend_notification")] = {"id": "n-2", "resent_from": "n-1",
                                                                   "status": "created"}
    response = client.post("/api/v1/agent/notifications/n-1/resend", headers=agent)
    assert response.status_code == 202 and response.get_json()["id"] == "n-2"
    fake_rpc.replies[("notifications", "preview_template")] = lambda **call: {"subject": call["kwargs"]["name"]}
    response = client.post("/api/v1/agent/notification-templates/reminder/preview",
                           json={"personalisation": {"action": "x"}, "channel": "sms"}, headers=agent)
    assert response.status_code == 200 and response.get_json() == {"subject": "reminder"}
    assert client.post("/api/v1/agent/notification-templates/reminder/preview", json={"channel": "fax"},
                       headers=agent).status_code == 422
    fake_rpc.replies[("notifications", "get_notification")] = Forbidden()
    assert client.get("/api/v1/agent/notifications/n-1", headers=agent).status_code == 403


def test_my_preferences_are_read_and_changed_as_the_caller(client, fake_rpc, signing_key, auth_header):
    citizen = auth_header(signing_key.token(sub="acc-9"))
    assert client.get("/api/v1/me/notification-preferences").status_code == 401
    assert client.patch("/api/v1/me/notification-preferences", json={"non_essential": False}).status_code == 401
    fake_rpc.replies[("notifications", "my_notification_preferences")] = {"non_essential": True}
    response = client.get("/api/v1/me/notification-preferences", headers=citizen)
    assert response.status_code == 200 and response.get_json() == {"non_essential": True}
    assert fake_rpc.calls_to("notifications", "my_notification_preferences")[0]["caller"].subject == "acc-9"
    fake_rpc.replies[("notifications", "update_my_notification_preferences")] = lambda **call: {
        "non_essential": call["kwargs"]["non_essential"]}
    response = client.patch("/api/v1/me/notification-preferences", json={"non_essential": False}, headers=citizen)
    assert response.status_code == 200 and response.get_json() == {"non_essential": False}
    [call] = fake_rpc.calls_to("notifications", "update_my_notification_preferences")
    assert call["caller"].subject == "acc-9" and call["kwargs"] == {"non_essential": False}
    for body in ({}, {"non_essential": "peut-être"}, {"non_essential": False, "sms": False}):
        bad = client.patch("/api/v1/me/notification-preferences", json=body, headers=citizen)
        assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    agent = auth_header(signing_key.token(sub="ag-1", kind="agent", roles=["agent_accueil"]))
    assert client.get("/api/v1/me/notification-preferences", headers=agent).status_code == 403


def test_one_click_unsubscribe_accepts_the_rfc_8058_form_post(client, fake_rpc):
    fake_rpc.replies[("notifications", "unsubscribe")] = {"unsubscribed": True, "scope": "non_essential"}
    # What a mail provider sends (RFC 8058 §3.1): the token in the URL, the form body, no credentials.
    response = client.post("/api/v1/notifications/unsubscribe?token=v1.abc.def", data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.get_json()["unsubscribed"] is True
    multipart = client.post("/api/v1/notifications/unsubscribe?token=v1.abc.def",
                            data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data")
    assert multipart.status_code == 200
    in_body = client.post("/api/v1/notifications/unsubscribe", data={"token": "v1.xyz.uvw",
                                                                      "List-Unsubscribe": "One-Click"})
    assert in_body.status_code == 200
    without_body = client.post("/api/v1/notifications/unsubscribe?token=v1.abc.def")
    assert without_body.status_code == 200
    calls = fake_rpc.calls_to("notifications", "unsubscribe")
    assert [c["kwargs"] for c in calls] == [{"token": "v1.abc.def"}, {"token": "v1.abc.def"}, {"token": "v1.xyz.uvw"},
                                            {"token": "v1.abc.def"}]
    assert all(c["caller"] is None for c in calls)  # anonymous: the signed token is the proof
    assert response.headers["Cache-Control"] == "no-store"


def test_unsubscribe_without_token_or_with_an_invalid_one_is_a_french_problem(client, fake_rpc):
    from guichet_common.rpc_client import RemoteProblem

    missing = client.post("/api/v1/notifications/unsubscribe", data="List-Unsubscribe=One-Click",
                          content_type="application/x-www-form-urlencoded")
    assert missing.status_code == 422 and "token" in missing.get_json()["errors"]
    assert not fake_rpc.calls_to("notifications", "unsubscribe")
    fake_rpc.replies[("notifications", "unsubscribe")] = RemoteProblem({
        "type": "urn:guichet:problem:unsubscribe-link-invalid", "title": "Lien de désinscription invalide",
        "status": 400, "detail": "Ce lien de désinscription n'est pas valide."})
    response = client.post("/api/v1/notifications/unsubscribe?token=v1.forged.sig", data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "urn:guichet:problem:unsubscribe-link-invalid"
    assert body["detail"] == "Ce lien de désinscription n'est pas valide."
    assert client.post("/api/v1/notifications/unsubscribe?token=" + "x" * 600).status_code == 422
    # Other routes still refuse form bodies.
    assert client.patch("/api/v1/me/notification-preferences", data="non_essential=false",
                        content_type="application/x-www-form-urlencoded").status_code in (401, 415)


def test_the_footer_link_shows_a_confirmation_page_and_never_unsubscribes_on_get(client, fake_rpc):
    fake_rpc.replies[("notifications", "unsubscribe")] = {"unsubscribed": True, "scope": "non_essential"}
    page = client.get("/api/v1/notifications/unsubscribe?token=v1.a'b<c.d", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "Confirmer la désinscription" in text and "<form method='post'>" in text
    assert "value='v1.a&#x27;b&lt;c.d'" in text  # escaped
    assert page.headers["Referrer-Policy"] == "no-referrer" and "default-src 'none'" in page.headers[
        "Content-Security-Policy"]
    assert not fake_rpc.calls_to("notifications", "unsubscribe")
    # An incomplete link: a page for a browser, a problem document for any other client.
    incomplete = client.get("/api/v1/notifications/unsubscribe", headers={"Accept": "text/html"})
    assert incomplete.status_code == 400 and "Lien de désinscription incomplet" in incomplete.get_data(as_text=True)
    incomplete = client.get("/api/v1/notifications/unsubscribe")
    assert incomplete.status_code == 400 and incomplete.mimetype == "application/problem+json"
    assert incomplete.get_json()["type"] == "urn:guichet:problem:unsubscribe-link-incomplete"
    # The browser posts the form: it gets a page back, not JSON.
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    done = client.post("/api/v1/notifications/unsubscribe", data={"token": "v1.a.b", "List-Unsubscribe": "One-Click"},
                       headers=browser)
    assert done.status_code == 200 and done.mimetype == "text/html"
    assert "Désinscription enregistrée" in done.get_data(as_text=True)
    from guichet_common.rpc_client import RemoteProblem

    fake_rpc.replies[("notifications", "unsubscribe")] = RemoteProblem({
        "type": "urn:guichet:problem:unsubscribe-link-expired", "title": "Lien de désinscription expiré",
        "status": 400, "detail": "Ce lien de désinscription a expiré."})
    expired = client.post("/api/v1/notifications/unsubscribe", data={"token": "v1.a.b"}, headers=browser)
    assert expired.status_code == 400 and "Ce lien de désinscription a expiré." in expired.get_data(as_text=True)


def test_the_unsubscribe_route_is_documented_with_its_form_body(client):
    document = client.get("/api/openapi.json").get_json()
    post = document["paths"]["/api/v1/notifications/unsubscribe"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert "security" not in post
    assert "text/html" in document["paths"]["/api/v1/notifications/unsubscribe"]["get"]["responses"]["200"]["content"]


# --- SMS delivery reports -------------------------------------------------------------------

REPORT_SECRET = "r" * 40

BREVO_REPORT = {"id": 26570, "to": "33612345678", "sms_count": 1, "credits_used": 1.5,
                "messageId": 1511882900176220, "reference": "ab1cde2fgh3i4jklmno", "remaining_credit": 11488.8,
                "msg_status": "delivered", "date": "2026-03-02 10:15:02", "type": "transactional",
                "tag": "guichet"}


def test_a_report_reaches_the_service_with_its_token_and_without_the_phone_number(client, fake_rpc, caplog):
    fake_rpc.replies[("notifications", "sms_delivery_report")] = {"outcome": "updated"}
    response = client.post(f"/api/v1/notifications/sms-reports/brevo?token={REPORT_SECRET}", json=BREVO_REPORT)
    assert response.status_code == 200 and response.get_json() == {"outcome": "updated"}
    [call] = fake_rpc.calls_to("notifications", "sms_delivery_report")
    assert call["caller"] is None
    assert call["kwargs"] == {"provider": "brevo", "token": REPORT_SECRET, "report": {
        "msg_status": "delivered", "messageId": 1511882900176220, "reference": "ab1cde2fgh3i4jklmno"}}
    assert "33612345678" not in caplog.text and REPORT_SECRET not in caplog.text


def test_the_service_refusing_the_token_or_the_provider_is_a_403_or_a_404_problem(client, fake_rpc):
    """The notifications service knows the providers and checks their secrets: its problems come back as is."""
    refusals = [(GuichetError("Le jeton de ce compte rendu de remise SMS est absent ou invalide.", status=403,
                              slug="sms-report-forbidden", title="Compte rendu refusé"), 403),
                (GuichetError("Aucun fournisseur SMS de ce nom n'envoie de comptes rendus de remise à cette adresse.",
                              status=404, slug="sms-provider-unknown", title="Fournisseur SMS inconnu"), 404)]
    for problem, status in refusals:
        fake_rpc.replies[("notifications", "sms_delivery_report")] = problem
        response = client.post("/api/v1/notifications/sms-reports/brevo", json=BREVO_REPORT)
        assert response.status_code == status and response.mimetype == "application/problem+json"
        assert response.get_json()["type"] == f"urn:guichet:problem:{problem.slug}"
    missing = fake_rpc.calls_to("notifications", "sms_delivery_report")[0]
    assert missing["kwargs"]["token"] is None  # no token: the service says 403


def test_a_report_body_is_checked_in_french(client, fake_rpc):
    url = f"/api/v1/notifications/sms-reports/brevo?token={REPORT_SECRET}"
    for body in ({"messageId": 1}, {"msg_status": "delivered", "messageId": True},
                 {"msg_status": "delivered", "messageId": {"a": 1}}):
        response = client.post(url, json=body)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert client.post(url, data="msg_status=delivered",
                       content_type="application/x-www-form-urlencoded").status_code == 415
    assert fake_rpc.calls_to("notifications", "sms_delivery_report") == []
