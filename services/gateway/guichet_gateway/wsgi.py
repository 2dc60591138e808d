"""WSGI entry point: ``gunicorn -c python:guichet_gateway.gunicorn_conf guichet_gateway.wsgi:app``.

Imported by each gunicorn worker (the app is not preloaded), so every worker
process builds its own app and its own RPC client.
"""
from guichet_common import logs

from .app import create_app
from .settings import GatewaySettings
from .threads import tune_for_threaded_io

tune_for_threaded_io()
settings = GatewaySettings.from_env()
logs.configure("gateway", settings.log_level)
app = create_app(settings)
