import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request

from guichet_common.cli import main as guichet


def _port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port, process, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_the_mail_catcher_listens_on_the_ports_of_the_variables(tmp_path):
    """`guichet run` points notifications at GUICHET_MAILCATCHER_SMTP_PORT: a catcher started by hand
    must listen there too, not on 1025."""
    smtp_port, http_port = _port(), _port()
    env = dict(os.environ, GUICHET_DATA_DIR=str(tmp_path), GUICHET_MAILCATCHER_SMTP_PORT=str(smtp_port),
               GUICHET_MAILCATCHER_HTTP_PORT=str(http_port))
    process = subprocess.Popen([sys.executable, "-m", "guichet_common.cli", "mailcatcher"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_port(smtp_port, process)
        _wait_for_port(http_port, process)
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as client:
            client.sendmail("mairie@ville.test", ["a@b.test"], b"Subject: Bonjour\r\n\r\nCorps")
        assert b"Bonjour" in urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/messages", timeout=5).read()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    assert f"SMTP on 127.0.0.1:{smtp_port}" in output


def test_run_has_a_no_restart_flag_and_its_help_says_processes_are_restarted(capsys):
    try:
        guichet(["run", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "restarted" in text and "--no-restart" in text


def _exited_child(tmp_path):
    from guichet_devtools.devserver import Child

    child = Child("accounts", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ), tmp_path)
    child.start()
    child.popen.wait(10)
    return child


def test_without_restarts_a_process_that_exits_stays_down(tmp_path, capsys):
    import threading

    from guichet_devtools.devserver import supervise

    child = _exited_child(tmp_path)
    first = child.popen
    assert supervise([child], threading.Event(), restart=False)
    assert supervise([child], threading.Event(), restart=False)
    assert child.popen is first and child.restarts == 0
    assert capsys.readouterr().out.count("accounts exited (3); not restarted") == 1


def test_by_default_a_process_that_exits_is_started_again(tmp_path, monkeypatch):
    import threading

    from guichet_devtools import devserver

    monkeypatch.setattr(devserver.time, "sleep", lambda _seconds: None)
    child = _exited_child(tmp_path)
    first = child.popen
    assert devserver.supervise([child], threading.Event(), restart=True)
    assert child.popen is not first and child.restarts == 1
    child.popen.wait(10)
