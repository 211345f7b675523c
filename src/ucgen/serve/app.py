"""The explorer's web server: Flask routes around an Explorer.

Flask (with Werkzeug's threaded server) because it is the smallest well-kept framework that
gives routing, JSON, multipart uploads with a size cap and Jinja2 templates; the explorer is
a local, one-person tool, so its development server is enough and nothing else is started.
Every route takes numbers or image bytes, never a path; the page's script is inlined, so
there is no static-file route either. User errors are answered as JSON `{"error": ...}` with
status 400 (413 for an oversized upload) and the server keeps running.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, make_server

from ucgen.errors import UcgenError
from ucgen.serve.explorer import MAX_UPLOAD_BYTES, Explorer

log = logging.getLogger(__name__)


def create_app(explorer: Explorer) -> Flask:
    """The Flask application serving `explorer`'s page and its JSON API."""
    app = Flask(__name__, static_folder=None)
    # Werkzeug refuses a larger body before reading it; a little room for the form fields.
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES + 64 * 1024

    @app.get("/")
    def page() -> str:
        return render_template("explorer.html", info=explorer.info())

    @app.get("/api/info")
    def info() -> Any:
        return jsonify(explorer.info())

    @app.get("/api/gallery")
    def gallery() -> Any:
        return jsonify(explorer.gallery())

    @app.post("/api/render")
    def render() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise UcgenError("the request must be a JSON object")
        return jsonify(explorer.render(body))

    @app.post("/api/upload")
    def upload() -> Any:
        file = request.files.get("image")
        if file is None:
            raise UcgenError("no image in the upload: drop a PNG or JPEG")
        return jsonify(explorer.upload(file.read(MAX_UPLOAD_BYTES + 1), request.form.to_dict()))

    @app.errorhandler(UcgenError)
    def user_error(err: UcgenError) -> Any:
        return jsonify(error=str(err)), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(err: RequestEntityTooLarge) -> Any:
        return jsonify(error=f"the upload is larger than {MAX_UPLOAD_BYTES // 2**20} MB"), 413

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        return jsonify(error=f"{err.code} {err.name}"), err.code

    @app.errorhandler(Exception)
    def internal(err: Exception) -> Any:
        log.exception("request failed")
        return jsonify(error=f"internal error: {type(err).__name__}: {err}"), 500

    return app


def serve(explorer: Explorer, host: str = "127.0.0.1", port: int = 8000) -> BaseWSGIServer:
    """A threaded server for `explorer` bound to host:port (0: a free port, see
    `server.port`); call serve_forever() on it, shutdown() from another thread to stop."""
    try:
        return make_server(host, port, create_app(explorer), threaded=True)
    except OSError as err:
        raise UcgenError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    except SystemExit:  # werkzeug exits when the port is taken
        raise UcgenError(f"cannot listen on {host}:{port}: the address is in use") from None
