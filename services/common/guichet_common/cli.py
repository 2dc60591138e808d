"""The ``guichet`` command: run services and relays, migrate, inspect dead letters, check health."""
from __future__ import annotations

import argparse
import json
import sys


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


def _town_or_none(settings):
    from .town import TownSettingsError, load_town

    try:
        return load_town(settings.town_settings)
    except TownSettingsError as error:
        print(f"Town settings: {error}", file=sys.stderr)
        return None


def _cmd_mailcatcher(args):
    import signal
    import threading

    from . import devsms
    from .config import load_settings
    from .mailcatcher import MailCatcher

    settings = load_settings()
    directory = settings.data_dir / "mail"
    town = _town_or_none(settings)
    catcher = MailCatcher(directory, host=args.host, smtp_port=args.smtp_port, http_port=args.http_port,
                          sms_files=devsms.sms_files(town, settings.data_dir) if town is not None else None,
                          timezone=(town or {}).get("timezone") or "Europe/Paris").start()
    print(f"SMTP on {args.host}:{args.smtp_port}, mails on http://{args.host}:{args.http_port}/ ({directory})",
          flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    catcher.stop()


def _cmd_mail(args):
    from .config import load_settings
    from .mailcatcher import print_mails

    print_mails(load_settings().data_dir / "mail", args.last)


def _cmd_sms(args):
    from . import devsms
    from .config import load_settings

    settings = load_settings()
    town = _town_or_none(settings)
    if town is None:
        raise SystemExit(1)
    files = devsms.sms_files(town, settings.data_dir)
    if not files:
        raise SystemExit("No development SMS file: the town settings' notifications.sms_providers has no "
                         "'file' provider.")
    print(devsms.format_sms(devsms.read_sms(files, args.last), town.get("timezone") or "Europe/Paris"))
    print(f"# {', '.join(str(path) for path in files)}", file=sys.stderr)


def _cmd_run(args):
    from . import devserver

    devserver.main(args)


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

    p = sub.add_parser("mailcatcher", help="development SMTP server keeping mails (SMTP 1025, page 8025)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, default=1025)
    p.add_argument("--http-port", type=int, default=8025)
    p.set_defaults(func=_cmd_mailcatcher)

    p = sub.add_parser("mail", help="print the mails kept by the development mail catcher")
    p.add_argument("--last", type=int, default=None)
    p.set_defaults(func=_cmd_mail)

    p = sub.add_parser("sms", help="print the SMS written by the development SMS provider (latest last)")
    p.add_argument("--last", type=int, default=20, help="how many (default 20; 0 for all)")
    p.set_defaults(func=_cmd_sms)

    p = sub.add_parser("run", help="run the whole suite for development (make run)")
    p.add_argument("--no-demo", action="store_true")
    p.set_defaults(func=_cmd_run)

    args = parser.parse_args(argv)
    if args.command == "dlq" and args.action in ("show", "discard") and not args.message_id:
        parser.error("a message id is required")
    args.func(args)


if __name__ == "__main__":
    main()
