#!/usr/bin/env python3
"""Subscribe to Guichet events from another city system, with plain pika.

    python subscriber.py --exchange accounts.events --queue etat-civil.guichet-accounts \
        --binding-key 'fr.guichet.accounts.#'

Prints one JSON line per event on standard output: {"type", "id", "subject", "time"}.

What a real subscriber keeps from this example:
- its OWN durable queue, bound to the Guichet exchange: messages published
  while it is stopped wait in the queue;
- manual acknowledgement AFTER processing: a crash before the ack means the
  broker delivers the message again;
- therefore idempotency: delivery is at least once, the same event may come
  twice (same CloudEvents ``id``). Record the ids you have processed in the
  same database transaction as the effects of the event and skip those you
  have seen. This example keeps the last ids in memory only.

Only the Python standard library and pika (https://pypi.org/project/pika/).
Licence: AGPL-3.0-or-later, like Guichet.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import sys
import time

import pika
import pika.exceptions

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
PREFETCH = 10
SEEN_IDS_KEPT = 10_000


class Stop(Exception):
    """SIGTERM: stop like Ctrl-C."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Print the Guichet events routed to a durable queue.")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", DEFAULT_AMQP_URI),
                        help="broker URI (default: $AMQP_URI or %(default)s)")
    parser.add_argument("--exchange", required=True,
                        help="Guichet events exchange, <service>.events, e.g. accounts.events")
    parser.add_argument("--binding-key", default="#",
                        help="topic binding key: '#' (everything), 'fr.guichet.accounts.account.*.v1', "
                             "or one exact event type (default: %(default)s)")
    parser.add_argument("--queue", required=True,
                        help="name of this subscriber's own durable queue, e.g. etat-civil.guichet-accounts")
    parser.add_argument("--max-messages", type=int, default=None, metavar="N",
                        help="stop after N events")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="stop after S seconds")
    return parser.parse_args(argv)


def declare(connection: pika.BlockingConnection, args: argparse.Namespace):
    """Declare the exchange (as Guichet does), this subscriber's queue, and bind them."""
    channel = connection.channel()
    try:
        # Same arguments as the Guichet producers, so the subscriber may start first.
        channel.exchange_declare(exchange=args.exchange, exchange_type="topic", durable=True, auto_delete=False)
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code != 406:  # 406 PRECONDITION_FAILED: it exists with other arguments; use it as it is
            raise
        channel = connection.channel()
        channel.exchange_declare(exchange=args.exchange, passive=True)
    channel.queue_declare(queue=args.queue, durable=True, exclusive=False, auto_delete=False)
    channel.queue_bind(queue=args.queue, exchange=args.exchange, routing_key=args.binding_key)
    channel.basic_qos(prefetch_count=PREFETCH)
    return channel


def handle(body: bytes) -> dict:
    """Process one event; here: the line to print. Raise ValueError for a message that is not an event."""
    event = json.loads(body)
    if not isinstance(event, dict) or event.get("specversion") != "1.0" or "id" not in event or "type" not in event:
        raise ValueError("not a CloudEvents 1.0 message")
    return {"type": event["type"], "id": event["id"], "subject": event.get("subject"), "time": event.get("time")}


def consume(channel, args: argparse.Namespace) -> int:
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    seen_order: collections.deque[str] = collections.deque()
    seen: set[str] = set()
    printed = 0
    for method, _properties, body in channel.consume(args.queue, auto_ack=False, inactivity_timeout=0.2):
        if method is not None:
            try:
                line = handle(body)
            except ValueError as error:
                # A poison message will not get better: reject it without requeueing (to the queue's
                # dead-letter exchange if you configured one) instead of looping on it.
                print(f"rejected a message that is not a Guichet event: {error}", file=sys.stderr, flush=True)
                channel.basic_nack(delivery_tag=method.delivery_tag, requeue=False)
                continue
            if line["id"] in seen:
                print(f"duplicate {line['id']} skipped", file=sys.stderr, flush=True)
            else:
                print(json.dumps(line, ensure_ascii=False), flush=True)
                printed += 1
                seen.add(line["id"])
                seen_order.append(line["id"])
                if len(seen_order) > SEEN_IDS_KEPT:
                    seen.discard(seen_order.popleft())
            channel.basic_ack(delivery_tag=method.delivery_tag)  # after processing, never before
            if args.max_messages is not None and printed >= args.max_messages:
                break
        if deadline is not None and time.monotonic() >= deadline:
            break
    # Messages prefetched but not processed go back to the queue, for the next run.
    channel.cancel()
    return printed


def main(argv=None) -> int:
    args = parse_args(argv)

    def on_sigterm(_signum, _frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_sigterm)
    connection = None
    try:
        connection = pika.BlockingConnection(pika.URLParameters(args.amqp_uri))
        channel = declare(connection, args)
        count = consume(channel, args)
        print(f"stopped after {count} event(s)", file=sys.stderr)
        return 0
    except (KeyboardInterrupt, Stop):
        print("interrupted", file=sys.stderr)
        return 0
    except pika.exceptions.AMQPError as error:
        print(f"AMQP error: {error!r}", file=sys.stderr)
        return 1
    finally:
        if connection is not None and connection.is_open:
            try:
                connection.close()  # unacknowledged messages are requeued by the broker
            except pika.exceptions.AMQPError:
                pass


if __name__ == "__main__":
    sys.exit(main())
