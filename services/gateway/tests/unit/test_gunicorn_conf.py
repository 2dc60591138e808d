"""gunicorn settings and the JSON access log."""
import datetime as dt
import importlib
import io
import json
import logging
import sys

import pytest

from guichet_gateway.gunicorn_logging import JsonLogger


def load_conf(monkeypatch, **env):
    for name in ("GUICHET_GATEWAY_BIND", "GUICHET_GATEWAY_WORKERS", "GUICHET_GATEWAY_THREADS",
                 "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("guichet_gateway.gunicorn_conf", None)
    return importlib.import_module("guichet_gateway.gunicorn_conf")


def test_defaults(monkeypatch):
    conf = load_conf(monkeypatch)
    assert (conf.bind, conf.worker_class, conf.workers, conf.threads) == ("127.0.0.1:8000", "gthread", 2, 8)
    assert conf.preload_app is False
    assert conf.logger_class is JsonLogger
    assert "gthread" in conf.__doc__ and "eventlet" in conf.__doc__


def test_the_docstring_names_the_amqp_client_the_rpc_client_uses(monkeypatch):
    import guichet_common.rpc_client as rpc_client

    conf = load_conf(monkeypatch)
    assert rpc_client.amqp.__name__ == "amqp"  # py-amqp, through kombu
    assert "py-amqp" in conf.__doc__ and "pika" not in conf.__doc__


def test_values_from_the_environment(monkeypatch):
    conf = load_conf(monkeypatch, GUICHET_GATEWAY_BIND="0.0.0.0:9000", GUICHET_GATEWAY_WORKERS="4",
                     GUICHET_GATEWAY_THREADS="16")
    assert (conf.bind, conf.workers, conf.threads) == ("0.0.0.0:9000", 4, 16)


def test_stale_multiprocess_files_are_removed_at_start(monkeypatch, tmp_path):
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    conf = load_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    conf.on_starting(server=None)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keep.txt"]


class _Config:
    accesslog = "-"
    errorlog = "-"
    loglevel = "info"
    capture_output = False
    syslog = False
    logconfig = logconfig_dict = logconfig_json = None
    disable_redirect_access_to_syslog = False
    access_log_format = ""
    user = None
    umask = 0


class _Response:
    status = "200 OK"
    sent = 321
    headers = [("Content-Type", "application/json"), ("X-Request-ID", "req-77")]


@pytest.fixture
def access_lines(monkeypatch):
    stream = io.StringIO()
    logger = JsonLogger(_Config())
    for handler in logger.access_log.handlers:
        monkeypatch.setattr(handler, "stream", stream)
    return logger, stream


def test_access_lines_are_json_without_query_string_nor_address(access_lines):
    logger, stream = access_lines
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/me", "QUERY_STRING": "token=secret&email=a@b.fr",
               "RAW_URI": "/api/v1/me?token=secret&email=a@b.fr", "REMOTE_ADDR": "203.0.113.9",
               "HTTP_USER_AGENT": "Firefox", "SERVER_PROTOCOL": "HTTP/1.1"}
    logger.access(_Response(), None, environ, dt.timedelta(milliseconds=12.5))
    line = stream.getvalue().strip()
    entry = json.loads(line)
    assert entry["service"] == "gateway"
    assert entry["logger"] == "gunicorn.access"
    assert (entry["method"], entry["path"], entry["status"], entry["bytes"]) == ("GET", "/api/v1/me", 200, 321)
    assert entry["request_id"] == "req-77"
    assert entry["duration_ms"] == 12.5
    for secret in ("token", "secret", "a@b.fr", "203.0.113.9", "Firefox"):
        assert secret not in line


def test_error_lines_are_json_too(access_lines):
    logger, _ = access_lines
    assert all(type(handler.formatter).__name__ == "JsonFormatter" for handler in logger.error_log.handlers)
    assert logging.getLogger("gunicorn.error").handlers
