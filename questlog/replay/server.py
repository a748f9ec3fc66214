"""A small threaded HTTP server on 127.0.0.1 with prefix routes.

Each replayed API registers a handler for a path prefix; the handler gets a
parsed `Request` and returns a `Reply`. Used by the demo, the benchmark and the
tests; it never listens beyond loopback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]


class ReplayServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the replay server listens on loopback only")
        self._routes: list[tuple[str, Handler]] = []
        self.requests: list[Request] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the demo prints its own progress
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                req = Request(self.command, split.path, parse_qs(split.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length) if length else b"")
                server.requests.append(req)
                reply = server.dispatch(req)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _serve

        class _Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # a client hanging up mid-reply (the hostile-response tests do) is not news

        self.httpd = _Server((host, port), _Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, prefix: str, handler: Handler) -> None:
        """Send requests whose path starts with `prefix` to `handler` (longest prefix wins)."""
        self._routes.append((prefix, handler))
        self._routes.sort(key=lambda r: -len(r[0]))

    def dispatch(self, req: Request) -> Reply:
        for prefix, handler in self._routes:
            if req.path.startswith(prefix):
                try:
                    return handler(req)
                except Exception as err:  # a broken handler must not kill the server
                    return Reply(500, f"replay handler error: {err}".encode(), "text/plain")
        return Reply(404, b"no such route", "text/plain")

    def start(self) -> "ReplayServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
