"""GET /api/metrics: requests by route and status, latency; multiprocess mode under gunicorn."""
import os
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families


def samples(client) -> list:
    response = client.get("/api/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return [sample for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples]


def value(all_samples, name, **labels) -> float:
    return sum(sample.value for sample in all_samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def test_requests_are_counted_by_route_and_status(client):
    before = samples(client)
    client.get("/api/v1/")
    client.get("/api/v1/")
    client.post("/api/v1/test/personnes", json={})
    after = samples(client)
    counted = "guichet_gateway_requests_total"
    assert value(after, counted, method="GET", route="/api/v1/", status="200") - \
        value(before, counted, method="GET", route="/api/v1/", status="200") == 2
    assert value(after, counted, method="POST", route="/api/v1/test/personnes", status="422") - \
        value(before, counted, method="POST", route="/api/v1/test/personnes", status="422") == 1
    timed = "guichet_gateway_request_seconds_count"
    assert value(after, timed, method="GET", route="/api/v1/") - \
        value(before, timed, method="GET", route="/api/v1/") == 2


def test_unknown_paths_share_one_label(client):
    before = samples(client)
    client.get("/api/v1/a-random-path-123")
    client.get("/api/v1/another-one")
    after = samples(client)
    counted = "guichet_gateway_requests_total"
    assert value(after, counted, route="<unmatched>", status="404") - \
        value(before, counted, route="<unmatched>", status="404") == 2
    assert not [s for s in after if "random-path" in str(s.labels)]


def test_requests_refused_before_the_view_are_counted(make_app):
    client = make_app(ratelimit_default="1/minute").test_client()
    before = samples(client)
    client.get("/api/v1/")
    client.get("/api/v1/")
    after = samples(client)
    counted = "guichet_gateway_requests_total"
    assert value(after, counted, route="/api/v1/", status="429") - value(before, counted, route="/api/v1/",
                                                                         status="429") == 1


def test_multiprocess_mode_adds_up_the_workers(client, tmp_path, monkeypatch):
    # Two "workers" (processes started with the variable set, as gunicorn's are) count requests...
    worker = ("from guichet_gateway import metrics; "
              "metrics.REQUESTS.labels('GET', '/api/v1/', '200').inc(5)")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], check=True, timeout=60,
                       env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    # ...and whichever process answers the scrape reports their sum.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    found = samples(client)
    assert value(found, "guichet_gateway_requests_total", route="/api/v1/", status="200") == 10
    assert not [s for s in found if s.name.startswith("python_gc")]  # per-process collectors are not mixed in
