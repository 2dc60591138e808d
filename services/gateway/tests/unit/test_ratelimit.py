"""The gateway's rate limiter: headers, scopes, store outages and the memory store's housekeeping.

(The 429 problem itself, per-address counting, trusted proxies and probes: test_problems.py.)
"""
import threading
import time

from limits.errors import StorageError

from guichet_gateway.ratelimit import EXTENSION, SweptMemoryStorage


def test_answers_say_how_much_of_the_limit_is_left(make_app):
    client = make_app(ratelimit_default="3/minute").test_client()
    first = client.get("/api/v1/")
    second = client.get("/api/v1/")
    assert first.headers["X-RateLimit-Limit"] == "3"
    assert (first.headers["X-RateLimit-Remaining"], second.headers["X-RateLimit-Remaining"]) == ("2", "1")
    assert int(first.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert "Retry-After" not in second.headers


def test_the_limit_closest_to_exhaustion_is_the_one_reported(make_app):
    client = make_app(ratelimit_default="100/hour;2/minute").test_client()
    response = client.get("/api/v1/")
    assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) == ("2", "1")
    client.get("/api/v1/")
    refused = client.get("/api/v1/")
    assert refused.status_code == 429 and refused.headers["X-RateLimit-Limit"] == "2"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_each_route_counts_apart_and_unknown_paths_count_too(make_app):
    client = make_app(ratelimit_default="1/minute").test_client()
    assert client.get("/api/v1/").status_code == 200
    assert client.get("/api/v1/test/catalogue").status_code == 200  # another route: its own counter
    assert client.get("/api/v1/nulle-part").status_code == 404
    assert client.get("/api/v1/ailleurs").status_code == 429  # scanning unknown paths is limited as well


def test_a_route_with_its_own_limit_does_not_also_use_the_default(make_app):
    client = make_app(ratelimit_default="1/minute").test_client()
    # /test/connexion allows 2 a minute: the 1/minute default does not apply on top.
    assert [client.post("/api/v1/test/connexion", json={"prenom": "Léa"}).status_code for _ in range(3)] == \
        [200, 200, 429]


def test_probes_carry_no_rate_limit_headers(make_app):
    response = make_app(ratelimit_default="1/minute").test_client().get("/api/health")
    assert "X-RateLimit-Limit" not in response.headers


def test_a_rate_limit_store_outage_lets_requests_through(make_app, caplog):
    app = make_app(ratelimit_default="1/minute")

    def unreachable(*_args, **_kwargs):
        raise StorageError(ConnectionError("store down"))

    app.extensions[EXTENSION].strategy.hit = unreachable
    client = app.test_client()
    assert [client.get("/api/v1/").status_code for _ in range(3)] == [200, 200, 200]
    assert "rate-limit store unreachable" in caplog.text


def test_counting_starts_no_thread_per_request(make_app):
    # limits' stock memory store started a Timer thread 10 ms after each hit (once the previous had run).
    client = make_app(ratelimit_default="1000/minute").test_client()
    client.get("/api/v1/")
    started = []
    original = threading.Thread.start

    def counting_start(thread):
        started.append(thread.name)
        return original(thread)

    threading.Thread.start = counting_start
    try:
        for _ in range(5):
            client.get("/api/v1/")
            time.sleep(0.02)
    finally:
        threading.Thread.start = original
    assert started == []


def test_the_sweep_frees_expired_counters_and_keeps_live_ones():
    storage = SweptMemoryStorage()
    storage.incr("gone", expiry=0.01)
    storage.incr("kept", expiry=60)
    time.sleep(0.05)
    storage.sweep()
    assert "gone" not in storage.storage and storage.get("kept") == 1


def test_a_shared_redis_store_that_is_down_lets_requests_through(make_app, caplog):
    # The README's production set-up (GUICHET_RATELIMIT_STORAGE_URI=redis://...) with nothing listening.
    client = make_app(ratelimit_default="1/minute", ratelimit_storage_uri="redis://127.0.0.1:1/0").test_client()
    assert [client.get("/api/v1/").status_code for _ in range(2)] == [200, 200]
    assert "rate-limit store unreachable" in caplog.text
