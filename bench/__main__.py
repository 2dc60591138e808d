"""Run every benchmark and print ratios against baselines measured in the same run.

1. HTTP read path (wrk, 32 connections): plain Flask JSON endpoint (ceiling),
   the same reading one SQLite row in-process, and the gateway reading the row
   from a service by RPC, back to back in BENCH_ROUNDS rounds (3); the round
   with the median ratio is shown. Targets: gateway ≥ 25 % of in-process,
   p99 < 50 ms.
2. Outbox relay: messages/s published with confirms from the outbox table,
   against raw pika publish-with-confirms of the same messages. Target ≥ 50 %.
4. Accounts (bench/accounts.py): login (argon2id) and GET /api/v1/me through the
   gateway, as ratios to the plain-Flask ceiling measured in the same run.
3. Notifications (bench/notifications.py): commands accepted and mails delivered per
   second to a local SMTP sink, p99 from command published to mail received.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pika

from bench import accounts as accounts_bench
from bench import notifications as notifications_bench
from bench.services import fill
from bench.tools import (
    CONNECTIONS,
    DURATION,
    THREADS,
    WORKER_CLASS,
    WORKERS,
    broker_pids,
    cpu_seconds,
    cpu_used,
    free_port,
    gunicorn,
    in_fresh_vhost,
    process_group,
    rpc_when_ready,
    service_env,
    start_service,
    stop,
    wait_port,
    warm_up,
    wrk,
)
from guichet_common import amqp
from guichet_common.db import Database, messaging_tables, new_metadata, utcnow
from guichet_common.relay import OutboxRelay

OUTBOX_MESSAGES = int(os.environ.get("BENCH_OUTBOX_MESSAGES", "5000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def http_benchmarks(workdir: Path, amqp_uri: str) -> dict:
    db_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    fill(db_url)
    env = service_env(workdir, amqp_uri, GUICHET_BENCHSVC_DATABASE_URL=db_url, BENCH_DATABASE_URL=db_url)
    service = start_service("bench.services:BenchService", env, workdir / "service.log")
    servers = []
    try:
        client = rpc_when_ready(amqp_uri, "benchsvc", "read_row", 1)
        # One sequential RPC, for the record.
        samples = []
        for _ in range(500):
            started = time.perf_counter()
            client.call("benchsvc", "read_row", 7)
            samples.append((time.perf_counter() - started) * 1000)
        client.close()
        results = {"sequential_rpc_median_ms": sorted(samples)[len(samples) // 2]}
        apps = {"plain": "/plain", "inproc": "/rows/7", "gateway": "/api/v1/bench/rows/7"}
        urls = {}
        for name, path in apps.items():
            port = free_port()
            servers.append(gunicorn(f"bench.apps:{name}", port, env, workdir / f"{name}.log"))
            wait_port(port)
            urls[name] = (servers[-1], f"http://127.0.0.1:{port}{path}")
        for _server, url in urls.values():  # every worker booted before anything is measured
            warm_up(url)
        # The three apps are measured back to back in each round and a round's ratios are paired: a
        # shared or throttled machine changes speed over minutes, and this keeps that out of the ratios.
        rounds = []
        for _ in range(ROUNDS):
            measured = {}
            for name, (server, url) in urls.items():
                warm_up(url)
                # Where the CPU goes per request: on a small machine the processes share the same
                # cores, so their sum bounds the throughput (and, with a fixed number of
                # connections, the mean latency).
                groups = {"gateway": process_group(server), "service": process_group(service),
                          "broker": broker_pids()}
                before = {group: cpu_seconds(pids) for group, pids in groups.items()}
                measured[name] = wrk(url)
                requests = measured[name]["rps"] * DURATION
                measured[name]["cpu_ms"] = {group: cpu_used(before[group], cpu_seconds(pids)) * 1000 / requests
                                            for group, pids in groups.items() if pids}
            measured["ratio"] = measured["gateway"]["rps"] / measured["inproc"]["rps"]
            rounds.append(measured)
        rounds.sort(key=lambda measured: measured["ratio"])
        results["rounds"] = rounds
        results.update(rounds[len(rounds) // 2])  # the round with the median ratio
        return results
    finally:
        for server in servers:
            stop(server)
        stop(service)


# A benchmark-only message (no contract: the relay publishes rows as they are).
BENCH_EVENT = "fr.guichet.bench.row.read.v1"


def outbox_benchmark(workdir: Path, amqp_uri: str) -> dict:
    body = json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/guichet/bench",
                       "type": BENCH_EVENT, "time": "2026-11-25T00:00:00Z",
                       "datacontenttype": "application/json", "data": {"row_id": 7, "label": "x" * 200}})
    # Baseline: raw pika, publisher confirms, one message at a time.
    connection = amqp.connect(amqp_uri, name="bench-raw")
    channel = amqp.publishing_channel(connection, "bench.events")
    started = time.perf_counter()
    for _ in range(OUTBOX_MESSAGES):
        channel.basic_publish("bench.events", BENCH_EVENT, body.encode(),
                              pika.BasicProperties(message_id=str(uuid.uuid4()), delivery_mode=2,
                                                   content_type="application/cloudevents+json"))
    raw = OUTBOX_MESSAGES / (time.perf_counter() - started)
    connection.close()

    metadata = new_metadata()
    messaging_tables(metadata)
    database = Database("bench", f"sqlite:///{workdir / 'outbox.sqlite3'}", metadata)
    metadata.create_all(database.engine)
    with database.engine.begin() as db:
        db.execute(database.outbox.insert(), [
            {"message_id": str(uuid.uuid4()), "exchange": "bench.events", "routing_key": BENCH_EVENT,
             "body": body, "created_at": utcnow(), "attempts": 0} for _ in range(OUTBOX_MESSAGES)])
    relay = OutboxRelay(database, amqp_uri)
    started = time.perf_counter()
    relay.drain(timeout=600)
    relayed = OUTBOX_MESSAGES / (time.perf_counter() - started)
    relay._close()
    database.dispose()
    return {"raw_pika_confirms_per_s": raw, "relay_per_s": relayed}


def main() -> None:
    def run_all(workdir: Path, amqp_uri: str):
        return (http_benchmarks(workdir, amqp_uri), outbox_benchmark(workdir, amqp_uri),
                notifications_bench.run(workdir, amqp_uri), accounts_bench.run(workdir, amqp_uri))

    http, outbox, notifications, accounts = in_fresh_vhost(run_all, "guichet-bench-")
    plain, inproc, gateway = http["plain"], http["inproc"], http["gateway"]
    print(f"\nGuichet benchmarks — {os.cpu_count()} cores, wrk {CONNECTIONS} connections × {DURATION} s, "
          f"gunicorn {WORKERS} {WORKER_CLASS} workers × {THREADS} threads\n")
    print(f"{'path':<44}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    for label, r in (("plain Flask JSON (ceiling)", plain), ("Flask + SQLite row in-process", inproc),
                     ("gateway → RPC → service SQLite row", gateway)):
        print(f"{label:<44}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['non_2xx']:>9}")
    ratio = http["ratio"]
    print(f"(the round with the median gateway/in-process ratio of {len(http['rounds'])}; ratio per round: "
          + ", ".join(f"{measured['ratio']:.2f}" for measured in http["rounds"]) + ")")
    print(f"\nsequential RPC median: {http['sequential_rpc_median_ms']:.2f} ms")
    print(f"gateway/in-process ratio: {ratio:.2f} (target ≥ 0.25) — "
          f"{'OK' if ratio >= 0.25 else 'BELOW TARGET'}")
    print(f"gateway/ceiling ratio: {gateway['rps'] / plain['rps']:.2f}")
    print(f"gateway p99: {gateway['p99_ms']:.1f} ms (target < 50 ms) — "
          f"{'OK' if gateway['p99_ms'] < 50 else 'ABOVE TARGET'}")
    cpu = gateway["cpu_ms"]
    total = sum(cpu.values())
    print("CPU per request through the gateway: " + ", ".join(f"{group} {ms:.2f} ms" for group, ms in cpu.items())
          + f" (plain Flask: {plain['cpu_ms'].get('gateway', 0):.2f} ms); {total:.2f} ms in all → at most "
          f"~{(os.cpu_count() or 1) * 1000 / total:.0f} req/s on {os.cpu_count()} cores, i.e. ≥ "
          f"{CONNECTIONS * total / (os.cpu_count() or 1):.0f} ms mean latency at {CONNECTIONS} connections")
    relay_ratio = outbox["relay_per_s"] / outbox["raw_pika_confirms_per_s"]
    print(f"\noutbox relay: {outbox['relay_per_s']:.0f} msg/s vs raw pika with confirms "
          f"{outbox['raw_pika_confirms_per_s']:.0f} msg/s: ratio {relay_ratio:.2f} (target ≥ 0.50) — "
          f"{'OK' if relay_ratio >= 0.5 else 'BELOW TARGET'}")
    notifications_bench.report(notifications)
    accounts_bench.report(accounts)


if __name__ == "__main__":
    main()
