"""The server under both apps: uvicorn on its httptools protocol, bounded before the bytes are buffered.

uvicorn hands every byte of a request's head to httptools, which keeps a header's name and value whole until
they end: one 200 MB header is 200 MB in the server before any middleware can count it, and a client that
sends one byte every few seconds holds its connection for ever. :class:`BoundedHttpTools` is uvicorn's protocol
with the limits of :class:`Wire` in front of the parser, for the API and the workbench alike:

- the head (request line and headers) is counted as it arrives: past ``max_head_bytes`` the request gets 431
  and the connection is closed, with no more than one read of the socket kept;
- the request target past ``max_target_bytes`` gets 414, header ``max_header_count + 1`` gets 431, as the
  parser reports them;
- a head must be complete ``head_timeout`` seconds after the connection opened or the request's first byte
  came (408, or a silent close when nothing came), a declared body ``body_timeout`` seconds after its head;
  between requests uvicorn's keep-alive timeout closes an idle connection.

The guard of each app (:mod:`web.guard`) still measures the request as the app sees it and answers in the app's
own form; these bounds sit just above the guard's (its count leaves out the separators the wire carries), so
what the guard would accept always reaches it. What the server refuses itself it answers with the app's
refusals too, and logs one line without the request's content.

uvicorn's internals, every use of them in one place: the protocol's ``parser``, ``transport``, ``cycle``,
``url``, ``headers``, ``client``, ``_unset_keepalive_if_required``, ``send_400_response`` and its parser
callbacks (``on_message_begin``, ``on_url``, ``on_header``, ``on_headers_complete``, ``on_message_complete``),
the cycle's ``response_started`` / ``disconnected`` / ``message_event``, and ``Config.http`` taking a protocol
class. Checked against uvicorn and httptools as ``CHECKED_AGAINST`` says: tests/web/test_server.py fails,
saying what to re-check, when the installed versions differ or the protocol no longer behaves as assumed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from core.settings import Settings
from web.guard import SECURITY_HEADERS
from web.refusals import JSON, Refusals

CHECKED_AGAINST = {"uvicorn": "0.54.0", "httptools": "0.9.0"}
log = logging.getLogger(__name__)
REASONS = {408: b"Request Timeout", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


@dataclass(frozen=True)
class Wire:
    """What a request may be on the wire, checked by the server before the app sees it."""

    max_head_bytes: int  # request line and headers as sent, separators included
    max_target_bytes: int  # the request target (path and query)
    max_header_count: int
    head_timeout: float  # seconds, from the connection or the request's first byte to the end of its head
    body_timeout: float  # seconds, from the end of the head to the end of the body

    @classmethod
    def of(cls, settings: Settings) -> Wire:
        """The settings' bounds: the guard's limits plus what its count leaves out (each header's ``: `` and
        line end, the request line's method and version)."""
        count = settings.web_max_header_count
        return cls(settings.api_max_header_bytes + 4 * count + 64, settings.web_max_url_bytes + 16, count,
                   settings.web_header_timeout_seconds, settings.web_body_timeout_seconds)


class _Refused(Exception):
    """Raised in a parser callback to stop the parser; the protocol answers ``status``."""


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration with the bounds of the wire and the app's refusals (both picklable, for workers)."""

    def __init__(self, app, *, wire: Wire, refusals: Refusals, **kwargs) -> None:
        super().__init__(app, http=BoundedHttpTools, **kwargs)
        self.wire, self.refusals = wire, refusals


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with the head counted, the target and headers bounded and timeouts for
    the head and the body (see the module's docstring)."""

    def __init__(self, config: ServerConfig, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.wire: Wire = config.wire
        self.refusals: Refusals = config.refusals
        self._head: int | None = 0  # bytes of the current head so far; None once the head is in
        self._header_count = 0
        self._refusal: tuple[int, str, str] | None = None
        self._timer: asyncio.TimerHandle | None = None

    # the clock
    def _arm(self, seconds: float, on_expiry) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, on_expiry)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm(self.wire.head_timeout, self._head_too_slow)  # a connection that never speaks is closed too

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _head_too_slow(self) -> None:
        self._timer = None
        if self._head:
            self._refuse(408, "head_timeout", f"the request's headers took longer than {self.wire.head_timeout:g} s")
        elif not self.transport.is_closing():
            self.transport.close()

    def _body_too_slow(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            cycle.disconnected = True  # the app's receive() now says the client left; nothing more is sent
            cycle.message_event.set()
            self._refuse(408, "body_timeout", f"the request's body took longer than {self.wire.body_timeout:g} s")
        elif not self.transport.is_closing():
            self.transport.close()

    # the bytes
    def data_received(self, data: bytes) -> None:
        if self._head is None:
            return self._feed(data)
        room = self.wire.max_head_bytes - self._head
        if len(data) <= room:
            self._head += len(data)
            return self._feed(data)
        self._head += room
        self._feed(data[:room])  # the head may end in what fits: the rest is its body or the next request
        if self.transport.is_closing():
            return None
        if self._head is not None:
            return self._refuse(431, "headers_too_large", f"the request's head exceeds {self.wire.max_head_bytes} "
                                "bytes")
        return self.data_received(data[room:])

    def _feed(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()  # neither app speaks WebSocket; the request was dispatched
        except httptools.HttpParserError:  # a callback's refusal, or what uvicorn answers 400
            if self._refusal is not None:
                return self._refuse(*self._refusal)
            log.warning("invalid HTTP request from %s: refused (400)", self._address())
            self.send_400_response("Invalid HTTP request received.")

    # the parser's callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head is None:  # a request after the one before: its head is counted from here
            self._head, self._header_count = 0, 0
        if self._timer is None:
            self._arm(self.wire.head_timeout, self._head_too_slow)

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > self.wire.max_target_bytes:
            self._refusal = (414, "uri_too_long", f"the request target exceeds {self.wire.max_target_bytes} bytes")
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.wire.max_header_count:
            self._refusal = (431, "headers_too_large", f"more than {self.wire.max_header_count} headers")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head = None
        self._arm(self.wire.body_timeout, self._body_too_slow)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # the answer
    def _address(self) -> str:
        return self.client[0] if self.client else "unknown"

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` in the app's form and close the connection (what else was sent is not read)."""
        self._disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.disconnected:
            self.transport.close()  # a pipelined request's answer would land before or inside the one due
            return
        log.warning("%s %s from %s: refused before the app", status, code, self._address())
        body = self.refusals.body(status, code, message)
        head = [b"HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, b"")),
                b"content-type: " + self.refusals.media_type.encode() + b"\r\n",
                b"content-length: %d\r\n" % len(body), b"connection: close\r\n", b"cache-control: no-store\r\n",
                *(k + b": " + v + b"\r\n" for k, v in SECURITY_HEADERS), b"\r\n"]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def server_config(app, settings: Settings, *, host: str, port: int, refusals: Refusals = JSON, workers: int = 1,
                  factory: bool = False, log_level: str = "info", **kwargs) -> ServerConfig:
    """How both apps are served: the bounded protocol, no server header, no uvicorn access log (each app logs
    its requests), and forwarded-for believed only from ``ONESOURCE_API_TRUSTED_PROXIES``: uvicorn would
    otherwise believe it from 127.0.0.1, and a local proxy would let every request pick its own address."""
    trusted = settings.api_trusted_proxies
    return ServerConfig(app, wire=Wire.of(settings), refusals=refusals, host=host, port=port, workers=workers,
                        factory=factory, log_level=log_level, access_log=False, server_header=False,
                        proxy_headers=bool(trusted), forwarded_allow_ips=trusted or "", ws="none", **kwargs)


def run(config: ServerConfig) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM), in ``config.workers`` processes."""
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
