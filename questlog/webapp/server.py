"""Serving the app with uvicorn on a socket bound up front (port 0 picks a free one).

Only a loopback address is served unless `allow_remote` says otherwise: the app has one password
and no TLS of its own, so reaching it from elsewhere is a choice made on purpose (put a TLS proxy in
front of it).
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import sys
import threading

import uvicorn

from questlog.report import mask_password
from questlog.webapp.app import create_app
from questlog.webapp.auth import load_or_create_password, password_file
from shared.errors import PermanentError
from shared.ledger import Ledger
from shared.settings import Settings

log = logging.getLogger("questlog.web")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def check_host(host: str, allow_remote: bool) -> None:
    """Raises PermanentError for a non-loopback `host` unless `allow_remote`."""
    if not is_loopback(host) and not allow_remote:
        raise PermanentError(
            f"refusing to serve on {host}: only loopback addresses (127.0.0.1, ::1, localhost) are served "
            "unless you pass --allow-remote. Anyone who can reach the port then gets the login page, over plain "
            "HTTP unless you put a TLS proxy in front.")


class WebServer:
    """uvicorn over a bound socket. `serve_forever` blocks (run it in a thread for tests);
    `shutdown` stops it and waits; `server_close` closes the socket and the ledger."""

    def __init__(self, settings: Settings, ledger: Ledger, sock: socket.socket, password: str,
                 login_pause_s: float = 1.0) -> None:
        self.settings, self.ledger, self.socket = settings, ledger, sock
        self.server_address = sock.getsockname()
        secure = (settings.web.public_url or "").startswith("https://")  # behind TLS: the cookie says so
        self.app = create_app(settings, ledger, password, login_pause_s=login_pause_s, https_only=secure)
        config = uvicorn.Config(self.app, log_config=None, access_log=True, server_header=False,
                                proxy_headers=False, lifespan="off", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self._stopped.wait(timeout_s)

    def server_close(self) -> None:
        self.socket.close()
        self.ledger.close()


def make_server(settings: Settings, host: str, port: int, allow_remote: bool = False,
                login_pause_s: float = 1.0) -> WebServer:
    """A bound, not yet serving server. Makes the password file on first use (see `auth`).
    Raises PermanentError for a remote host without `allow_remote`, OSError when it cannot bind."""
    check_host(host, allow_remote)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password, _ = load_or_create_password(settings.data_dir)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    ledger = Ledger(settings.ledger_url)
    return WebServer(settings, ledger, sock, password, login_pause_s)


def serve(settings: Settings, host: str, port: int, allow_remote: bool = False) -> None:
    """Serve until Ctrl-C or SIGTERM. On the first start, prints where the password is, and it."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_host(host, allow_remote)
    _, created = load_or_create_password(settings.data_dir)
    path = password_file(settings.data_dir).resolve()
    if created:
        print(f"questlog web: first start; the login password is {path.read_text().strip()}\n"
              f"  (kept in {path}, readable by you only; delete the file for a new one)", file=sys.stderr)
    server = make_server(settings, host, port, allow_remote)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    bound_host, bound_port = server.server_address[:2]
    print(f"questlog web on http://{bound_host if ':' not in bound_host else f'[{bound_host}]'}:{bound_port} "
          f"(password in {path}; ledger {mask_password(settings.ledger_url)})", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.server_close()


def _interrupt(*_) -> None:
    raise KeyboardInterrupt
