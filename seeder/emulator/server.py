"""Serving the emulator on loopback: a threaded stdlib WSGI server with Nagle's algorithm disabled.

``serve`` blocks until interrupted and calls ``on_ready(url)`` once the socket listens (the CLI prints
``listening on <url>``); ``running_emulator`` runs one in a background thread for tests and benchmarks.
Keep-alive (HTTP/1.1) is supported; an injected ``reset`` fault closes the socket with an RST.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from seeder.model import Schema

from .app import ConnectionReset, EmulatorApp, make_app
from .config import EmulatorConfig

__all__ = ["EmulatorServer", "running_emulator", "serve"]


class _Handler(ServerHandler):
    http_version = "1.1"

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], ConnectionReset):
            raise ConnectionReset()  # propagate to the request handler, which resets the socket
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the emulator never logs request lines (they may carry data)

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _Handler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(),  # type: ignore[arg-type]
                           multithread=True, multiprocess=False)
        handler.request_handler = self  # type: ignore[attr-defined]
        try:
            handler.run(self.server.get_app())  # type: ignore[attr-defined]
        except ConnectionReset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True
        else:
            self.close_connection = False


class EmulatorServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _make_server(app: EmulatorApp, host: str, port: int) -> EmulatorServer:
    server = EmulatorServer((host, port), _RequestHandler)
    server.set_app(app)
    return server


def _url(server: EmulatorServer, host: str) -> str:
    return f"http://{host}:{server.server_address[1]}"


def serve(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0,
          on_ready: Callable[[str], None] | None = None, *, schema: Schema | None = None,
          stop: threading.Event | None = None) -> None:
    """Serve ``config`` on ``host:port`` until interrupted (or ``stop`` is set); ``on_ready(url)`` once listening."""
    app = make_app(config, schema=schema)
    server = _make_server(app, host, port)
    if stop is not None:
        def watch() -> None:
            stop.wait()
            server.shutdown()

        threading.Thread(target=watch, daemon=True).start()
    try:
        if on_ready is not None:
            on_ready(_url(server, host))
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.env.store.close()


@contextmanager
def running_emulator(config: EmulatorConfig | None = None, *, schema: Schema | None = None,
                     **overrides: Any) -> Iterator[str]:
    """Run an emulator in a background thread; yields its base URL ``http://127.0.0.1:PORT``."""
    cfg = replace(config or EmulatorConfig(), **overrides) if overrides else (config or EmulatorConfig())
    app = make_app(cfg, schema=schema)
    server = _make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield _url(server, "127.0.0.1")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.env.store.close()
