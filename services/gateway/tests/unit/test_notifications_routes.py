"""The notifications routes: the caller passed to the service, queries checked in French."""
from guichet_common.errors import Forbidden


def test_my_notifications_needs_a_citizen_and_pages(client, fake_rpc, signing_key, auth_header):
    assert client.get("/api/v1/me/notifications").status_code == 401
    fake_rpc.replies[("notifications", "my_notifications")] = lambda **call: {
        "items": [], "page": call["kwargs"]["page"], "page_size": call["kwargs"]["page_size"], "total": 0}
    response = client.get("/api/v1/me/notifications?page=2&page_size=5",
                          headers=auth_header(signing_key.token(sub="acc-9")))
    assert response.status_code == 200 and response.get_json()["page"] == 2
    call = fake_rpc.calls_to("notifications", "my_notifications")[0]
    assert call["caller"].subject == "acc-9" and call["kwargs"] == {"page": 2, "page_size": 5}
    bad = client.get("/api/v1/me/notifications?page_size=1000", headers=auth_header(signing_key.token(sub="acc-9")))
    assert bad.status_code == 422 and "page_size" in bad.get_json()["errors"]


def test_agent_search_resend_and_preview(client, fake_rpc, signing_key, auth_header):
    citizen = auth_header(signing_key.token(sub="acc-1"))
    agent = auth_header(signing_key.token(sub="ag-1", kind="agent", roles=["agent_accueil"]))
    assert client.get("/api/v1/agent/notifications", headers=citizen).status_code == 403
    fake_rpc.replies[("notifications", "search_notifications")] = {"items": [], "total": 0}
    response = client.get("/api/v1/agent/notifications?failed=true&template=reminder", headers=agent)
    assert response.status_code == 200
    assert fake_rpc.calls_to("notifications", "search_notifications")[0]["kwargs"] == {
        "status": None, "recipient": None, "template": "reminder", "failed": True, "page": 1, "page_size": 20}
    assert client.get("/api/v1/agent/notifications?status=perdu", headers=agent).status_code == 422
    fake_rpc.replies[("notifications", "resend_notification")] = {"id": "n-2", "resent_from": "n-1"}
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
