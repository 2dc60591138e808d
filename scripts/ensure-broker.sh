#!/usr/bin/env bash
# RabbitMQ must answer on ${GUICHET_AMQP_HOST:-127.0.0.1}:${GUICHET_AMQP_PORT:-5672}.
# Starts a local one if it is installed but down; installs it (root, Debian) if absent.
set -euo pipefail
HOST=${GUICHET_AMQP_HOST:-127.0.0.1}
PORT=${GUICHET_AMQP_PORT:-5672}
port_open() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

port_open && exit 0
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "RabbitMQ is not installed: installing rabbitmq-server with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  else
    echo "No RabbitMQ on $HOST:$PORT. Install one: 'sudo apt-get install rabbitmq-server'," >&2
    echo "or run 'docker compose up -d rabbitmq', or set GUICHET_AMQP_URI to an existing broker." >&2
    exit 1
  fi
fi
echo "Starting RabbitMQ (rabbitmq-server -detached)" >&2
rabbitmq-server -detached >/dev/null 2>&1 || true
# rabbitmq-diagnostics ping answers before the AMQP port accepts: wait for the port itself.
for _ in $(seq 1 120); do
  port_open && exit 0
  sleep 1
done
echo "RabbitMQ did not open $HOST:$PORT within 120 s; see /var/log/rabbitmq/" >&2
exit 1
