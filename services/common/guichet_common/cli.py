"""The ``guichet`` command: run services and relays, migrate, inspect dead letters, check health."""
from __future__ import annotations

import argparse
import json
import sys

COMMAND_GROUP = "guichet.commands"
# Added by guichet-devtools through COMMAND_GROUP; named here to say why they are missing without it.
DEVELOPMENT_COMMANDS = ("run", "mailcatcher", "mail", "sms")


def _cmd_service(args):
    from . import runner  # monkey-patches eventlet first

    runner.run(args.service, embedded_relay=not args.no_relay, metrics_port=args.metrics_port)


def _cmd_relay(args):
    import signal

    from . import logs
    from .config import load_settings
    from .db import Database
    from .registry import load_class
    from .relay import OutboxRelay

    settings = load_settings()
    service_cls = load_class(args.service)
    logs.configure(f"{service_cls.name}-relay", settings.log_level)
    database = Database(service_cls.name, settings.database_url(service_cls.name), service_cls.db.metadata)
    relay = OutboxRelay(database, settings.amqp_uri, poll_interval=settings.outbox_poll_interval)
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    relay.run()


def _cmd_migrate(args):
    from . import logs, migrations
    from .config import load_settings
    from .registry import installed, load_class

    settings = load_settings()
    logs.configure("migrate", settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for spec in args.services or installed():
        service_cls = load_class(spec)
        migrations.upgrade(service_cls.package(), settings.database_url(service_cls.name), args.revision)
        print(f"{service_cls.name}: migrated to {args.revision}")


def _cmd_dlq(args):
    from . import dlq
    from .config import load_settings
    from .registry import installed

    settings = load_settings()
    services = [args.service] if args.service else installed()
    if args.action == "list":
        for service in services:
            for letter in dlq.list_dead_letters(settings.amqp_uri, service):
                print(f"{service}\t{letter['message_id']}\t{letter['type']}\tattempts={letter['attempts']}\t"
                      f"queue={letter['queue']}\t{letter['failed_at']}\t{letter['error']}")
        for queue, depth in dlq.depths(settings.amqp_uri, services).items():
            print(f"# {queue}: {depth}", file=sys.stderr)
    elif args.action == "show":
        for service in services:
            for letter in dlq.list_dead_letters(settings.amqp_uri, service):
                if letter["message_id"] == args.message_id:
                    print(json.dumps(letter, indent=2, ensure_ascii=False))
                    return
        raise SystemExit(f"no dead letter {args.message_id}")
    elif args.action == "replay":
        total = sum(dlq.replay(settings.amqp_uri, service, args.message_id) for service in services)
        print(f"replayed {total} message(s)")
    elif args.action == "discard":
        total = sum(dlq.discard(settings.amqp_uri, service, args.message_id) for service in services)
        print(f"discarded {total} message(s)")


def _cmd_health(args):
    from .config import load_settings
    from .errors import GuichetError
    from .registry import installed
    from .rpc_client import RpcClient

    settings = load_settings()
    client = RpcClient(settings.amqp_uri, timeout=args.timeout)
    healthy = True
    for service in args.services or installed():
        try:
            report = client.call(service, "health")
        except GuichetError as error:
            report = {"service": service, "status": "down", "detail": error.title}
        healthy &= report.get("status") == "ok"
        print(json.dumps(report, ensure_ascii=False))
    raise SystemExit(0 if healthy else 1)


def _cmd_config(_args):
    from .config import markdown_table

    print(markdown_table())


def _add_installed_commands(sub) -> None:
    """Commands other installed packages add (entry point group ``guichet.commands``): the development tools'
    run, mailcatcher, mail and sms, which the production image does not have."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=COMMAND_GROUP):
        entry.load()(sub)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="guichet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("service", help="run one service (name, or module:Class)")
    p.add_argument("service")
    p.add_argument("--no-relay", action="store_true", help="do not run the outbox relay in this process")
    p.add_argument("--metrics-port", type=int, default=None)
    p.set_defaults(func=_cmd_service)

    p = sub.add_parser("relay", help="run a standalone outbox relay for one service")
    p.add_argument("service")
    p.set_defaults(func=_cmd_relay)

    p = sub.add_parser("migrate", help="apply database migrations (all services by default)")
    p.add_argument("services", nargs="*")
    p.add_argument("--revision", default="head")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("dlq", help="dead-letter queues")
    p.add_argument("action", choices=["list", "show", "replay", "discard"])
    p.add_argument("message_id", nargs="?")
    p.add_argument("--service")
    p.set_defaults(func=_cmd_dlq)

    p = sub.add_parser("health", help="call every service's health RPC")
    p.add_argument("services", nargs="*")
    p.add_argument("--timeout", type=float, default=5.0)
    p.set_defaults(func=_cmd_health)

    p = sub.add_parser("config", help="print the configuration variables")
    p.set_defaults(func=_cmd_config)

    _add_installed_commands(sub)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DEVELOPMENT_COMMANDS and argv[0] not in sub.choices:
        parser.exit(2, f"guichet {argv[0]}: a development command of guichet-devtools, which is not installed "
                       "here (make venv installs it; the production image does not).\n")

    args = parser.parse_args(argv)
    if args.command == "dlq" and args.action in ("show", "discard") and not args.message_id:
        parser.error("a message id is required")
    args.func(args)


if __name__ == "__main__":
    main()
