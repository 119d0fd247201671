"""The live page's web server: the standard library's threading HTTP server, one thread per request, and
Server-Sent Events for the pushed updates (a stream each page keeps open; the browser reconnects by itself).

Every request must carry the session's token, as `?token=TOKEN` or an `Authorization: token TOKEN` header
(Jupyter's convention), or it gets 403. Requests are never logged: their addresses carry the token.

    GET  /                 the page (index.html, app.js, style.css, served from nnlearn/live/page/)
    GET  /api/state        the state as JSON (docs/json.md)
    GET  /api/events       the same, as a stream of `state` events, one each time it changes
    POST /api/config       {"text": ..., "base": SHA256}: saved when valid (200), else 400/409/422
    POST /api/edit         {"text": ..., "edit": {...}}: the text as a control changes it (not saved); without
                           "edit", what the controls show for the text
"""

from __future__ import annotations

import errno
import hmac
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from nnlearn.errors import NnlearnError
from nnlearn.jsonout import json_text
from nnlearn.workflows.live.edits import EditError, apply_edit, controls_of, given_by_option
from nnlearn.workflows.live.saving import save_config
from nnlearn.workflows.live.state import LiveState

PAGE_FILES = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
              "/style.css": ("style.css", "text/css; charset=utf-8")}
KEEP_ALIVE_SECONDS = 15  # a comment line on a quiet stream, so a page notices a server that has gone
EVENT_PAUSE_SECONDS = 0.1  # a page gets at most ten states a second: fast epochs are sent together
MAX_BODY = 2_000_000
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class LiveApp:
    """What the server serves: the state, the config it edits (with the watcher's --set values) and the token."""

    def __init__(self, state: LiveState, token: str, config_path: Path, overrides: list[str] | tuple = ()):
        self.state, self.token, self.config_path, self.overrides = state, token, Path(config_path), list(overrides)

    def allows(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def page_file(self, name: str) -> bytes:
        content = resources.files("nnlearn.workflows.live").joinpath("page", name).read_bytes()
        return content.replace(b"{{token}}", self.token.encode("ascii")) if name == "index.html" else content


class Handler(BaseHTTPRequestHandler):
    server_version = "nnlearn"
    protocol_version = "HTTP/1.1"  # a page's requests share a few connections
    timeout = 120  # an idle connection's thread ends after this long

    @property
    def app(self) -> LiveApp:
        return self.server.app

    def log_message(self, format, *arguments) -> None:
        """Nothing: a request's address holds the token, which never goes into a log."""

    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if header.lower().startswith("token "):
            return header[6:].strip()
        return (parse_qs(urlsplit(self.path).query).get("token") or [None])[0]

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, value) -> None:
        self._send(status, json_text(value).encode("utf-8"))

    def _refused(self) -> bool:
        if self.app.allows(self._token()):
            return False
        self.close_connection = True  # a body sent with it is never read
        self._send_json(403, {"errors": [{"message": "this page needs the token nnlearn printed: open the "
                                                     "address it printed, with its ?token=."}]})
        return True

    def do_GET(self) -> None:
        if self._refused():
            return
        route = urlsplit(self.path).path
        if route in PAGE_FILES:
            name, content_type = PAGE_FILES[route]
            self._send(200, self.app.page_file(name), content_type)
        elif route == "/api/state":
            self._send(200, self.app.state.snapshot()[1].encode("utf-8"))
        elif route == "/api/events":
            self._stream_events()
        else:
            self._send_json(404, {"errors": [{"message": f"there is no {route} here."}]})

    def do_POST(self) -> None:
        if self._refused():
            return
        route = urlsplit(self.path).path
        if route not in ("/api/config", "/api/edit"):
            self.close_connection = True
            self._send_json(404, {"errors": [{"message": f"there is no {route} here."}]})
            return
        body = self._json_body()
        if body is None:
            return
        if route == "/api/config":
            saved = save_config(self.app.config_path, body["text"], self.app.overrides, body.get("base"))
            self._send_json(saved.status, saved)
        else:
            self._edit(body)

    def _json_body(self) -> dict | None:
        """The request's JSON object with a "text" string; None after answering 400 when it is not one."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        problem = None
        if not 0 < length <= MAX_BODY:
            problem = f"send a JSON body of at most {MAX_BODY:,} bytes, with its Content-Length."
            self.close_connection = True
        else:
            try:
                body = json.loads(self.rfile.read(length).decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                problem = 'the body must be a JSON object with a "text" string: {"text": "..."}.'
            elif body.get("base") is not None and not isinstance(body["base"], str):
                problem = '"base" is the SHA-256 (a string) of the text the edit started from.'
        if problem:
            self._send_json(400, {"errors": [{"path": "", "line": None, "column": None, "message": problem}]})
            return None
        return body

    def _edit(self, body: dict) -> None:
        edit = body.get("edit")
        overridden = self.app.state.overridden
        if edit is None:  # no edit: what the controls show for this text
            self._send_json(200, {"text": body["text"], "line": None, "description": None,
                                  "controls": controls_of(body["text"], overridden)})
            return
        try:
            if not isinstance(edit, dict):
                raise EditError('"edit" must be an object, e.g. {"set": "fit.epochs", "value": 20}.')
            if given_by_option(str(edit.get("set", "")), overridden):
                raise EditError(f"{edit['set']} is set by --set on the command line, so the file's value is not "
                                "used.", hint="stop nnlearn and start it again without that --set.")
            edited = apply_edit(body["text"], edit)
        except NnlearnError as error:
            self._send_json(422, {"errors": [problem.as_dict() for problem in error.problems]})
            return
        self._send_json(200, {**edited.to_json(), "controls": controls_of(edited.text, overridden)})

    def _stream_events(self) -> None:
        """A `state` event now and after each change (at most ten a second), until the watcher stops."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        state, version = self.app.state, -1
        try:
            self.wfile.write(b"retry: 1000\n\n")
            while not state.closed:
                if state.wait_newer(version, KEEP_ALIVE_SECONDS) is None:
                    self.wfile.write(b": still here\n\n" if not state.closed else b"event: closed\ndata: {}\n\n")
                else:
                    version, text = state.snapshot()
                    self.wfile.write(f"event: state\nid: {version}\ndata: {text}\n\n".encode("utf-8"))
                self.wfile.flush()
                time.sleep(EVENT_PAUSE_SECONDS)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the page was closed; it reconnects when opened again


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True  # a page's open stream never keeps nnlearn from exiting

    def __init__(self, address: tuple, app: LiveApp):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        super().__init__(address, Handler)

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return  # a page closed mid-answer
        print(f"live page: a request failed: {type(error).__name__}: {error}", file=sys.stderr)


def _free_port(host: str, after: int) -> int:
    """A port that can be listened on now: the next few after `after`, else one the system picks."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in [*range(after + 1, after + 21), 0]:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
                return probe.getsockname()[1]
            except OSError:
                continue
    return 0


def start_server(app: LiveApp, host: str, port: int) -> tuple[LiveServer, threading.Thread]:
    """Listen on host:port (port 0: one the system picks) and serve in a background thread."""
    try:
        server = LiveServer((host, port), app)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            free = _free_port(host, port)
            raise NnlearnError(f"port {port} on {host} is already in use (another program, or another nnlearn "
                               "watch --serve).", path="--port",
                               hint=f"use a free one: --port {free}" if free else "choose another --port.") from None
        raise NnlearnError(f"cannot listen on {host}:{port}: {error.strerror or error}.", path="--host",
                           hint="listen on this machine only (leave out --host), or choose another --port.") from None
    thread = threading.Thread(target=server.serve_forever, name="live page", daemon=True)
    thread.start()
    return server, thread
