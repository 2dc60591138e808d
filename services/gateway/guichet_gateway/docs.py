"""The API documentation page (Swagger UI), served whole by the gateway: no CDN.

Swagger UI's files come from the pinned ``flask-swagger-ui`` package (its
``dist`` folder is Swagger UI's own release, the version in its ``VERSION``
file); only the files the page needs are served. The page itself is ours: no
inline script (the starting script is a file of its own), so the Content
Security Policy allows scripts from the gateway only; Swagger UI's online
validator badge is turned off (it would send the document's address to a
third party).
"""
from __future__ import annotations

import html
from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, send_from_directory, url_for
from werkzeug.exceptions import NotFound

SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).parent / "dist"
ASSETS = frozenset({"swagger-ui.css", "index.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png"})
START_SCRIPT = "guichet-docs.js"
ASSET_MAX_AGE = 24 * 3600  # the files change only with the package's pin

# Same origin only; Swagger UI styles some elements inline, hence 'unsafe-inline' for styles (never scripts).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

_START = """window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: container.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
});
"""

blp = Blueprint("docs", __name__, url_prefix="/api/docs")


def swagger_ui_version() -> str:
    return (SWAGGER_UI_DIST / "VERSION").read_text(encoding="utf-8").strip()


@blp.get("")
def page():
    def asset(name: str) -> str:
        return html.escape(url_for("docs.asset", name=name), quote=True)

    document = (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Guichet — documentation de l'API</title>"
        f"<link rel='stylesheet' href='{asset('index.css')}'>"
        f"<link rel='stylesheet' href='{asset('swagger-ui.css')}'>"
        f"<link rel='icon' type='image/png' href='{asset('favicon-32x32.png')}' sizes='32x32'>"
        "</head><body>"
        f"<div id='swagger-ui' data-openapi='{html.escape(url_for('api-docs.openapi_json'), quote=True)}'></div>"
        f"<script src='{asset('swagger-ui-bundle.js')}'></script>"
        f"<script src='{asset('swagger-ui-standalone-preset.js')}'></script>"
        f"<script src='{asset(START_SCRIPT)}'></script>"
        "</body></html>")
    return Response(document, mimetype="text/html", headers=PAGE_HEADERS)


@blp.get("/assets/<name>")
def asset(name: str):
    if name == START_SCRIPT:
        response = Response(_START, mimetype="text/javascript")
    elif name in ASSETS:
        response = send_from_directory(SWAGGER_UI_DIST, name, max_age=ASSET_MAX_AGE)
    else:
        raise NotFound()
    return response
