"""The three HTTP apps compared under the same gunicorn settings.

- plain:   a Flask JSON endpoint (the ceiling);
- inproc:  the same endpoint reading one SQLite row in-process;
- gateway: the real Guichet gateway (all its middleware) reading the row
           from a service through RPC.
"""
import os

import sqlalchemy as sa
from flask import Blueprint, Flask, jsonify

from bench.services import read_row


def _plain():
    app = Flask("bench-plain")

    @app.get("/plain")
    def plain():
        return jsonify({"ok": True})

    return app


def _inproc():
    app = Flask("bench-inproc")
    engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"])

    @app.get("/rows/<int:row_id>")
    def row(row_id):
        with engine.connect() as connection:
            return jsonify(read_row(connection, row_id))

    return app


def _gateway():
    from guichet_gateway.app import create_app
    from guichet_gateway.rpc import rpc_client

    app = create_app()
    blueprint = Blueprint("bench", __name__)

    @blueprint.get("/api/v1/bench/rows/<int:row_id>")
    def row(row_id):
        return jsonify(rpc_client().call("benchsvc", "read_row", row_id))

    app.register_blueprint(blueprint)
    return app


def __getattr__(name):  # gunicorn imports bench.apps:plain / :inproc / :gateway lazily
    factories = {"plain": _plain, "inproc": _inproc, "gateway": _gateway}
    if name in factories:
        from guichet_gateway.threads import tune_for_threaded_io

        tune_for_threaded_io()  # the gateway's worker tuning, applied to every app compared
        return factories[name]()
    raise AttributeError(name)
