"""Configuration from environment variables, with documented defaults.

Every variable is listed in ``VARIABLES`` so the README table and the code
cannot drift apart (``guichet config`` prints it).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("accounts", "demarches", "billing", "activities", "notifications")

# name -> (default, description). A default of None means "derived".
VARIABLES: dict[str, tuple[str | None, str]] = {
    "GUICHET_AMQP_URI": ("amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ connection URI (vhost included)."),
    "GUICHET_DATA_DIR": ("./var", "Directory for SQLite files, keys, logs and the development mail box."),
    "GUICHET_<SERVICE>_DATABASE_URL": (None, "Database of one service, e.g. GUICHET_ACCOUNTS_DATABASE_URL. "
                                       "Default: sqlite:///$GUICHET_DATA_DIR/<service>.sqlite3. "
                                       "PostgreSQL: postgresql+psycopg://user@host/db."),
    "GUICHET_LOG_LEVEL": ("INFO", "Log level of every process (JSON lines on stderr)."),
    "GUICHET_TOWN_SETTINGS": (None, "Town settings YAML file. Default: the demo town shipped in deploy/town.example.yaml."),
    "GUICHET_RPC_TIMEOUT": ("5", "Seconds the gateway waits for a service answer before a 504."),
    "GUICHET_GATEWAY_BIND": ("127.0.0.1:8000", "Address the gateway listens on."),
    "GUICHET_GATEWAY_WORKERS": ("2", "gunicorn worker processes of the gateway."),
    "GUICHET_GATEWAY_THREADS": ("8", "Threads per gateway worker (gthread); the RPC bulkheads are sized from it."),
    "GUICHET_GATEWAY_READY_TIMEOUT": ("2", "Seconds /api/ready waits for the broker and each service's health."),
    "GUICHET_GATEWAY_TRUSTED_PROXIES": ("0", "Reverse proxies in front of the gateway whose X-Forwarded-For is trusted."),
    "GUICHET_GATEWAY_MAX_BODY_BYTES": ("10485760", "Largest request body the gateway accepts (413 above)."),
    "GUICHET_GATEWAY_SERVICE_SHARE": ("0.5", "Largest share of a gateway worker's threads that calls to one service may hold at once (bulkhead; past it a call answers 503 at once). RPC calls in all keep one thread free for /api/health."),
    "GUICHET_GATEWAY_SERVICE_CHECK_INTERVAL": ("1", "Seconds between two checks that a service's RPC queue has a consumer: a call to a stopped service answers 503 at once."),
    "GUICHET_GATEWAY_BREAKER_TIMEOUTS": ("3", "Consecutive timeouts of one service that open its circuit breaker (its calls answer 503 at once); 0 disables it."),
    "GUICHET_GATEWAY_BREAKER_SECONDS": ("5", "Seconds a breaker stays open before one call probes the service again; also the Retry-After of a 503 for a service that is down."),
    "GUICHET_RATELIMIT_STORAGE_URI": ("memory://", "Rate-limit counts: memory:// per worker; redis://host:6379 shared."),
    "GUICHET_RATELIMIT_DEFAULT": ("600/minute", "Default rate limit per client address (limits syntax, ';' separated)."),
    "GUICHET_RATELIMIT_AUTH": (None, "One limit replacing every authentication limit per client address (login 10/minute, recovery 5/minute, registration 20/hour, token 20/minute, refresh 60/minute): benchmarks, or a town behind a shared NAT."),
    "GUICHET_METRICS_PORT_BASE": ("9300", "Prometheus port of the first service; the others follow in SERVICES order. 0 disables."),
    "GUICHET_METRICS_ADDR": ("127.0.0.1", "Address the metrics endpoints listen on (0.0.0.0 in containers)."),
    "GUICHET_SMS_FILE": (None, "File the development SMS provider writes (a type: file provider without path; read by guichet sms and the mail catcher). Default: $GUICHET_DATA_DIR/sms.jsonl."),
    "GUICHET_MAILCATCHER_SMTP_PORT": ("1025", "SMTP port of the development mail catcher (make run)."),
    "GUICHET_MAILCATCHER_HTTP_PORT": ("8025", "Port of the development mail catcher's page (make run)."),
    "GUICHET_HANDLER_MAX_ATTEMPTS": ("5", "Deliveries of an event or command before it goes to the dead-letter queue."),
    "GUICHET_HANDLER_RETRY_DELAYS": ("1,5,30,120", "Seconds to wait before each retry (the last one repeats)."),
    "GUICHET_OUTBOX_POLL_INTERVAL": ("0.2", "Seconds the outbox relay sleeps when it found nothing to publish."),
    "GUICHET_MAX_WORKERS": ("16", "Concurrent workers per service process (nameko max_workers)."),
    "GUICHET_ACCOUNTS_KEY_PASSPHRASE": ("", "Passphrase encrypting the token-signing private keys in the accounts database (set it in production)."),
    "GUICHET_ACCOUNTS_PURGE_INTERVAL": ("3600", "Seconds between two purges of expired links, sessions, captchas and throttle records."),
    "GUICHET_NOTIFICATIONS_SMTP_HOST": ("127.0.0.1", "SMTP server the notifications service sends mail through."),
    "GUICHET_NOTIFICATIONS_SMTP_PORT": ("25", "Port of that SMTP server (make run points it at the mail catcher)."),
    "GUICHET_NOTIFICATIONS_SMTP_SECURITY": ("none", "SMTP transport security: starttls (port 587), tls (port 465) or none (local relay)."),
    "GUICHET_NOTIFICATIONS_SMTP_USERNAME": ("", "SMTP login (with the password), if the server requires one."),
    "GUICHET_NOTIFICATIONS_SMTP_PASSWORD": ("", "SMTP password."),
    "GUICHET_NOTIFICATIONS_SMTP_FROM": ("", "Sender address of the town's mails. Default: the town settings' notifications.from_address, else ne-pas-repondre@<public_url host>."),
    "GUICHET_NOTIFICATIONS_SMTP_TIMEOUT": ("10", "Seconds before an SMTP connection or reply times out (a temporary failure)."),
    "GUICHET_NOTIFICATIONS_TEST_MODE": ("", "true: no mail or SMS leaves, every notification is recorded as delivered. Default: the town settings' notifications.test_mode (false)."),
    "GUICHET_NOTIFICATIONS_RETRY_BASE_DELAY": ("", "Seconds before the first retry of a temporary failure (then x3 each time). Default: the town settings' notifications.retry.base_delay (30)."),
    "GUICHET_NOTIFICATIONS_POLL_INTERVAL": ("1", "Seconds the delivery loop sleeps when no notification is due."),
    "GUICHET_NOTIFICATIONS_CONCURRENCY": ("8", "Notifications one process sends at the same time."),
    "GUICHET_NOTIFICATIONS_LEASE_SECONDS": ("20", "Seconds a process holds the notifications it is sending without renewing them (it renews every third of it): after a crash they go out again at most this long after."),
    "GUICHET_NOTIFICATIONS_UNSUBSCRIBE_SECRET": ("", "Secret signing the one-click unsubscribe links of non-essential mails: 32 characters at least (openssl rand -hex 32); several, comma-separated, during a rotation (the first signs, all verify). Default: a random one made once in $GUICHET_DATA_DIR/keys (development only: set it in production, the same for every replica)."),
}


def _env(name: str, environ=None) -> str:
    environ = os.environ if environ is None else environ
    default = VARIABLES[name][0]
    return environ.get(name, default or "")


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    data_dir: Path
    log_level: str
    town_settings: Path | None
    rpc_timeout: float
    gateway_bind: str
    metrics_port_base: int
    metrics_addr: str
    mailcatcher_smtp_port: int
    mailcatcher_http_port: int
    handler_max_attempts: int
    handler_retry_delays: tuple[float, ...]
    outbox_poll_interval: float
    max_workers: int
    database_urls: dict[str, str] = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        return self.database_urls.get(service) or default_database_url(self.data_dir, service)

    def metrics_port(self, service: str) -> int:
        if not self.metrics_port_base:
            return 0
        names = list(SERVICES)
        index = names.index(service) if service in names else len(names)
        return self.metrics_port_base + index


def default_database_url(data_dir: Path, service: str) -> str:
    return f"sqlite:///{Path(data_dir).resolve() / (service + '.sqlite3')}"


def load_settings(environ=None) -> Settings:
    environ = os.environ if environ is None else environ
    town = environ.get("GUICHET_TOWN_SETTINGS")
    delays = tuple(float(d) for d in _env("GUICHET_HANDLER_RETRY_DELAYS", environ).split(",") if d.strip())
    urls = {}
    for key, value in environ.items():
        if key.startswith("GUICHET_") and key.endswith("_DATABASE_URL") and value:
            urls[key[len("GUICHET_"):-len("_DATABASE_URL")].lower()] = value
    return Settings(
        amqp_uri=_env("GUICHET_AMQP_URI", environ),
        data_dir=Path(_env("GUICHET_DATA_DIR", environ)),
        log_level=_env("GUICHET_LOG_LEVEL", environ).upper(),
        town_settings=Path(town) if town else None,
        rpc_timeout=float(_env("GUICHET_RPC_TIMEOUT", environ)),
        gateway_bind=_env("GUICHET_GATEWAY_BIND", environ),
        metrics_port_base=int(_env("GUICHET_METRICS_PORT_BASE", environ)),
        metrics_addr=_env("GUICHET_METRICS_ADDR", environ),
        mailcatcher_smtp_port=int(_env("GUICHET_MAILCATCHER_SMTP_PORT", environ)),
        mailcatcher_http_port=int(_env("GUICHET_MAILCATCHER_HTTP_PORT", environ)),
        handler_max_attempts=int(_env("GUICHET_HANDLER_MAX_ATTEMPTS", environ)),
        handler_retry_delays=delays or (1.0,),
        outbox_poll_interval=float(_env("GUICHET_OUTBOX_POLL_INTERVAL", environ)),
        max_workers=int(_env("GUICHET_MAX_WORKERS", environ)),
        database_urls=urls,
    )


def markdown_table() -> str:
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, (default, text) in VARIABLES.items():
        rows.append(f"| `{name}` | {('`' + default + '`') if default else '(derived)'} | {text} |")
    return "\n".join(rows)
