"""The development commands of ``guichet``: run, mailcatcher, mail, sms.

Registered through the ``guichet.commands`` entry point group: the chassis CLI
calls :func:`register` with its sub-parsers. Kept light (no import of the mail
catcher's SMTP server here) because every ``guichet`` command loads it.
"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("mailcatcher", help="development SMTP server keeping mails (SMTP 1025, page 8025)")
    p.add_argument("--host", default="127.0.0.1")
    # None: the port of GUICHET_MAILCATCHER_SMTP_PORT / _HTTP_PORT, the ones `guichet run` and the
    # notifications service are pointed at, so a catcher started by hand is where they send.
    p.add_argument("--smtp-port", type=int, default=None, help="default: $GUICHET_MAILCATCHER_SMTP_PORT (1025)")
    p.add_argument("--http-port", type=int, default=None, help="default: $GUICHET_MAILCATCHER_HTTP_PORT (8025)")
    p.set_defaults(func=_cmd_mailcatcher)

    p = sub.add_parser("mail", help="print the mails kept by the development mail catcher")
    p.add_argument("--last", type=int, default=None)
    p.set_defaults(func=_cmd_mail)

    p = sub.add_parser("sms", help="print the SMS written by the development SMS provider (latest last)")
    p.add_argument("--last", type=int, default=20, help="how many (default 20; 0 for all)")
    p.set_defaults(func=_cmd_sms)

    restarts = ("A process that exits is restarted (up to 5 times, then everything stops); "
                "--no-restart leaves it stopped.")
    p = sub.add_parser("run", help="run the whole suite for development (make run)",
                       description="Run the mail catcher, every installed service and the gateway. " + restarts)
    p.add_argument("--no-demo", action="store_true")
    p.add_argument("--no-restart", action="store_true",
                   help="leave a process that exits stopped (fault drills: a killed service stays down)")
    p.set_defaults(func=_cmd_run)


def _town_or_none(settings):
    from guichet_common.town import TownSettingsError, load_town

    try:
        return load_town(settings.town_settings)
    except TownSettingsError as error:
        print(f"Town settings: {error}", file=sys.stderr)
        return None


def _cmd_mailcatcher(args):
    import signal
    import threading

    from guichet_common import smsfile
    from guichet_common.config import load_settings

    from .mailcatcher import MailCatcher

    settings = load_settings()
    smtp_port = settings.mailcatcher_smtp_port if args.smtp_port is None else args.smtp_port
    http_port = settings.mailcatcher_http_port if args.http_port is None else args.http_port
    directory = settings.data_dir / "mail"
    town = _town_or_none(settings)
    catcher = MailCatcher(directory, host=args.host, smtp_port=smtp_port, http_port=http_port,
                          sms_files=smsfile.sms_files(town, settings.data_dir) if town is not None else None,
                          timezone=(town or {}).get("timezone") or "Europe/Paris").start()
    print(f"SMTP on {args.host}:{smtp_port}, mails on http://{args.host}:{http_port}/ ({directory})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    catcher.stop()


def _cmd_mail(args):
    from guichet_common.config import load_settings

    from .mailcatcher import print_mails

    print_mails(load_settings().data_dir / "mail", args.last)


def _cmd_sms(args):
    from guichet_common import smsfile
    from guichet_common.config import load_settings

    from . import sms

    settings = load_settings()
    town = _town_or_none(settings)
    if town is None:
        raise SystemExit(1)
    files = smsfile.sms_files(town, settings.data_dir)
    if not files:
        raise SystemExit("No development SMS file: the town settings' notifications.sms_providers has no "
                         "'file' provider.")
    print(sms.format_sms(sms.read_sms(files, args.last), town.get("timezone") or "Europe/Paris"))
    print(f"# {', '.join(str(path) for path in files)}", file=sys.stderr)


def _cmd_run(args):
    from . import devserver

    devserver.main(args)
