"""Accounts through the gateway: login and GET /api/v1/me requests/s, as ratios to the plain-Flask ceiling.

    python -m bench.accounts          (BENCH_DURATION, BENCH_CONNECTIONS, BENCH_WORKERS, BENCH_THREADS;
                                        BENCH_ACCOUNTS_DATABASE_URL for PostgreSQL, default a SQLite file)

Login is dominated by the argon2id verification (64 MiB, t=3: tens of ms of CPU
each, on purpose); GET /me by the RPC round trip and one indexed read.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from bench.tools import (
    CONNECTIONS,
    DURATION,
    THREADS,
    WORKERS,
    free_port,
    gunicorn,
    in_fresh_vhost,
    rpc_when_ready,
    service_env,
    start_service,
    stop,
    wait_port,
    warm_up,
    wrk,
)


def _login_script(workdir: Path, identifier: str, password: str) -> Path:
    script = workdir / "login.lua"
    body = json.dumps({"identifier": identifier, "password": password}).replace("'", "\\'")
    script.write_text(f"""wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
""")
    return script


def run(workdir: Path, amqp_uri: str) -> dict:
    from guichet_accounts import demo

    url = os.environ.get("BENCH_ACCOUNTS_DATABASE_URL") or f"sqlite:///{workdir / 'accounts.sqlite3'}"
    lines = demo.load(url)
    password = lines[1].rsplit(" ", 1)[1]
    env = service_env(workdir, amqp_uri, GUICHET_ACCOUNTS_DATABASE_URL=url,
                      GUICHET_RATELIMIT_AUTH="100000000/minute")
    service = start_service("accounts", env, workdir / "accounts.log")
    servers = []
    try:
        client = rpc_when_ready(amqp_uri, "accounts", "health", timeout=2)
        session = client.call("accounts", "login", kwargs={"identifier": demo.CITIZEN_LOGIN, "password": password})
        client.close()
        results = {}
        port = free_port()
        server = gunicorn("bench.apps:plain", port, env, workdir / "plain.log")
        servers.append(server)
        wait_port(port)
        warm_up(f"http://127.0.0.1:{port}/plain")
        results["plain"] = wrk(f"http://127.0.0.1:{port}/plain")
        stop(server)
        port = free_port()
        server = gunicorn("guichet_gateway.wsgi:app", port, env, workdir / "gateway.log")
        servers.append(server)
        wait_port(port)
        base = f"http://127.0.0.1:{port}/api/v1"
        header = f"Authorization: Bearer {session['access_token']}"
        warm_up(base + "/me", "-H", header)
        results["me"] = wrk(base + "/me", "-H", header)
        results["login"] = wrk(base + "/auth/login", "-s", str(_login_script(workdir, demo.CITIZEN_LOGIN, password)))
        stop(server)
        return results
    finally:
        for server in servers:
            stop(server)
        stop(service)


def report(results: dict) -> None:
    plain = results["plain"]
    print(f"\naccounts through the gateway ({CONNECTIONS} connections × {DURATION} s; ratio to the plain-Flask "
          f"ceiling of this run)")
    print(f"{'path':<44}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'/ceiling':>10}")
    for label, r in (("plain Flask JSON (ceiling)", plain), ("GET /api/v1/me", results["me"]),
                     ("POST /api/v1/auth/login (argon2id)", results["login"])):
        print(f"{label:<44}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['non_2xx']:>9}"
              f"{r['rps'] / plain['rps']:>10.3f}")


def main() -> None:
    results = in_fresh_vhost(run, "guichet-bench-accounts-")
    print(f"\n{os.cpu_count()} cores, gunicorn {WORKERS} gthread workers × {THREADS} threads")
    report(results)


if __name__ == "__main__":
    main()
