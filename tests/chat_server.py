"""A real HTTP server on 127.0.0.1 that speaks OpenAI chat completions, for the LLM judges' tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion(content: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }


class ChatServer:
    """Answers each POST /v1/chat/completions with the next canned (status, body, headers, delay), or,
    when none is queued and a `responder` is set, with completion(responder(request json))."""

    def __init__(self, responder: Callable[[dict], str] | None = None):
        self.responder = responder
        self.replies: list[tuple[int, bytes, dict, float]] = []
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                if server.replies or server.responder is None:
                    status, payload, headers, delay = server.replies.pop(0)
                else:
                    status, headers, delay = 200, {}, 0.0
                    payload = json.dumps(completion(server.responder(server.requests[-1]["json"]))).encode()
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (the timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True  # a handler still sleeping (the timeout test) must not block close
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def reply(self, content: str | None = None, *, status=200, raw: bytes | None = None, headers=None, delay=0.0):
        payload = raw if raw is not None else json.dumps(completion(content)).encode()
        self.replies.append((status, payload, headers or {}, delay))



    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
