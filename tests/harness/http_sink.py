"""A real HTTP(S) server on 127.0.0.1 for webhook tests: records requests, injects faults.

    with HttpSink(tls=True, responses=[503, 200], retry_after="1") as sink:
        ... point the daemon at sink.url + "/hook", trust sink.ca_file ...
        reqs = sink.wait_for(2, timeout=10)
        assert reqs[0].status == 503 and reqs[1].json()["case"] == "..."

Standard library only (http.server.ThreadingHTTPServer in a background thread, one thread per
connection, HTTP/1.1 with keep-alive, Expect: 100-continue and chunked request bodies).
See HttpSink's docstring; command line at the bottom (`python3 -m harness.http_sink --print`).
"""

import argparse
import http.server
import json
import logging
import select
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

from .sink import Sink, bind_listener, cli_add_tls_options, cli_certificate, cli_serve

__all__ = ["HttpSink", "HttpRequest", "Headers"]

_log = logging.getLogger("harness.http_sink")


class Headers(dict):
    """dict of request headers (names as sent) with case-insensitive lookup.

    A header sent more than once has its values joined with ', '.  .items() gives the names as
    the client spelled them; h['content-type'] and h['Content-Type'] both work.
    """

    def __init__(self, pairs=()):
        super().__init__()
        self._lower = {}
        for k, v in pairs:
            self.add(k, v)

    def add(self, name, value):
        key = self._lower.get(name.lower())
        if key is None:
            self._lower[name.lower()] = name
            super().__setitem__(name, value)
        else:
            super().__setitem__(key, super().__getitem__(key) + ", " + value)

    def __getitem__(self, name):
        return super().__getitem__(self._lower.get(name.lower(), name))

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._lower

    def get(self, name, default=None):
        return self[name] if name in self else default


class HttpRequest:
    """One request as received.

    method, path (with query string), url_path, query (dict of lists), headers (Headers),
    body (bytes), time (time.time() when the request head+body had been read), tls (bool),
    client ((host, port)), connection_id (1-based), http_version ('HTTP/1.1'),
    status: the status answered (None while hung/delayed, or if dropped),
    outcome: None (pending) | 'answered' | 'dropped' | 'hung' (gave up: client left or stop()).
    Helpers: .text (body decoded as UTF-8), .json()
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)
        parts = urllib.parse.urlsplit(self.path)
        self.url_path = parts.path
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.status = None
        self.outcome = None

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def as_dict(self):
        return {"time": self.time, "method": self.method, "path": self.path,
                "headers": dict(self.headers), "body": self.text, "tls": self.tls,
                "client": list(self.client), "connection_id": self.connection_id,
                "status": self.status, "outcome": self.outcome}

    def __repr__(self):
        return "<HttpRequest %s %s %d bytes -> %s>" % (self.method, self.path, len(self.body),
                                                       self.status)


class _HangEnded(Exception):
    pass


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An answer's head and body go out in two send()s: with Nagle on, the body would wait for
    # the client's delayed ACK (40 ms) on every request after a keep-alive connection's first.
    disable_nagle_algorithm = True
    server_version = "escalator-test-http-sink"
    sys_version = ""

    def setup(self):
        self.timeout = self.server.sink.idle_timeout
        super().setup()

    def log_message(self, fmt, *args):
        _log.debug("%s " + fmt, self.client_address[0], *args)

    def _serve(self):
        sink = self.server.sink
        try:
            body = self._read_body()
        except (ValueError, OSError) as e:
            _log.debug("bad request body: %r", e)
            self.close_connection = True
            if not isinstance(e, OSError):
                self.send_error(400, "bad body")
            return
        req = sink._record(
            method=self.command, path=self.path,
            headers=Headers(self.headers.items()), body=body, time=time.time(),
            tls=isinstance(self.connection, ssl.SSLSocket), client=self.client_address,
            connection_id=getattr(self.connection, "_sink_id", 0),
            http_version=self.request_version)

        if sink.drop:
            return self._drop(req, reset=(sink.drop == "reset"))
        if sink.hang:
            if not self._hang(lambda: sink.hang):
                req.outcome = "hung"
                sink._notify()
                self.close_connection = True
                return
        if sink.delay:
            if sink._stopping.wait(sink.delay):
                req.outcome = "hung"
                self.close_connection = True
                return
        status, headers, rbody = sink._response_for(req)
        if status is None or status == "drop":
            return self._drop(req, reset=False)
        # recorded before anything is sent, so a client that got the answer sees it recorded
        req.status = status
        req.outcome = "answered"
        self.send_response(status)
        names = {k.lower() for k in headers}
        if sink.retry_after is not None and status in (429, 503) and "retry-after" not in names:
            self.send_header("Retry-After", str(sink.retry_after))
        if "content-type" not in names:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        for k, v in headers.items():
            if k.lower() != "content-length":
                self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(rbody)))
        if sink.close_after_response:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(rbody)
        self.wfile.flush()
        sink._notify()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("EOF in chunked body")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                data = self.rfile.read(size)
                if len(data) != size:
                    raise ValueError("short chunk")
                chunks.append(data)
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        n = int(length)
        data = self.rfile.read(n) if n else b""
        if len(data) != n:
            raise ValueError("short body")
        return data

    def _drop(self, req, reset):
        sink = self.server.sink
        req.outcome = "dropped"
        sink._count("dropped")
        self.close_connection = True
        try:
            if reset:
                # close() (when the handler returns) then sends a TCP RST
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                # FIN without a TLS close_notify or any HTTP response
                socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
        except OSError:
            pass
        sink._notify()

    def _hang(self, still):
        """Wait without answering while still() is true.  True if released (answer normally),
        False if the client went away or the sink is stopping."""
        sink = self.server.sink
        sink._count("hung")
        conn = self.connection
        try:
            while still():
                if sink._stopping.is_set():
                    return False
                r, _, _ = select.select([conn], [], [], 0.2)
                if r:
                    conn.settimeout(0.2)
                    try:
                        data = conn.recv(4096)
                    except (socket.timeout, ssl.SSLWantReadError):
                        continue
                    except OSError:
                        return False
                    finally:
                        conn.settimeout(self.timeout)
                    if not data:
                        return False  # client closed
            return True
        except (OSError, ValueError):
            return False


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, sink, address):
        self.sink = sink
        super().__init__(address, _RequestHandler)

    def server_bind(self):
        # HTTPServer.server_bind would do a reverse DNS lookup (getfqdn); skip it.
        if self.allow_reuse_address:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bind_listener(self.socket, *self.server_address[:2])
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        t = threading.Thread(target=self.sink._connection_thread,
                             args=(self, request, client_address),
                             name="HttpSink-conn", daemon=True)
        self.sink._add_thread(t)
        t.start()

    def handle_error(self, request, client_address):
        self.sink._record_error(sys.exc_info()[1])


class HttpSink(Sink):
    """Real HTTP or HTTPS server on 127.0.0.1 recording every request.

    Constructor (keyword arguments, all optional):
      host='127.0.0.1', port=0        0 = ephemeral; the bound port is .port after start()
      tls=False                       HTTPS; cert_file/key_file, or a per-process test PKI
      cert_file, key_file, ca_file    (then .ca_file is the CA to trust)
      status=200                      default status (attribute, settable at run time)
      responses=None                  a list/iterator consumed one per request, then `status`:
                                      items are int status, (status, headers, body) or 'drop';
                                      or a callable(HttpRequest) -> int | (status, headers, body)
                                      | 'drop' (called for every request)
      body=b'ok\\n', headers={}        default response body and extra headers
      retry_after=None                Retry-After value added to 429 and 503 answers
      delay=0.0                       seconds to wait before answering (each request)
      hang=False                      never answer (until the client leaves, stop(), or hang is
                                      set back to False -- then the request is answered)
      drop=False                      close the connection without answering; 'reset' = RST
      close_after_response=False      send Connection: close and close after each answer
      idle_timeout=30                 a keep-alive connection idle this long is closed
      out=None                        append each request as a JSON line to this file
      on_request=None                 callable(HttpRequest) called when a request is recorded
    All of status, responses, body, headers, retry_after, delay, hang, drop can be changed at
    run time (set_responses(seq) resets the sequence).
      refuse = True / pause()         close the listening socket: connections are refused
      refuse = False / resume()       listen again on the same port

    Results: .requests (list of HttpRequest, snapshot), wait_for(n, timeout=5) -> list
    (TimeoutError, or strict=False), wait_until(predicate, timeout), .counters (connections,
    requests, dropped, hung, tls_failures, errors), .errors, .tls_errors, clear().
    .url = 'http(s)://127.0.0.1:PORT', url_for(path).  start()/stop() or a with block; stop()
    closes every connection and joins all threads.
    """

    def __init__(self, host="127.0.0.1", port=0, *, tls=False, cert_file=None, key_file=None,
                 ca_file=None, status=200, responses=None, body=b"ok\n", headers=None,
                 retry_after=None, delay=0.0, hang=False, drop=False, close_after_response=False,
                 idle_timeout=30.0, out=None, on_request=None):
        super().__init__(host, port, tls=tls, cert_file=cert_file, key_file=key_file,
                         ca_file=ca_file)
        self.tls = bool(tls)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.retry_after = retry_after
        self.delay = delay
        self.hang = hang
        self.drop = drop
        self.close_after_response = close_after_response
        self.idle_timeout = idle_timeout
        self.out = out
        self.on_request = on_request
        self._threads = set()
        self._socks = set()
        self._stopping = threading.Event()
        self._server = None
        self._serve_thread = None
        self._started = False
        self.set_responses(responses)

    # -- configuration ------------------------------------------------------------------------
    def set_responses(self, responses):
        with self._cond:
            if responses is None or callable(responses):
                self._responses = responses
            else:
                self._responses = iter(list(responses)) if isinstance(responses, (list, tuple)) \
                    else iter(responses)

    @property
    def responses(self):
        return self._responses

    @responses.setter
    def responses(self, value):
        self.set_responses(value)

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host, self.port)

    def url_for(self, path="/"):
        return self.url + (path if path.startswith("/") else "/" + path)

    # -- lifecycle ----------------------------------------------------------------------------
    def _start(self):
        if self._started:
            raise RuntimeError("HttpSink already started")
        self._stopping.clear()
        self._listen()
        self._started = True

    def _running(self):
        return self._started

    def _stop(self, timeout):
        if not self._started:
            return
        self._stopping.set()
        self._unlisten()
        with self._cond:
            socks = list(self._socks)
        for s in socks:
            try:
                socket.socket.shutdown(s, socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        with self._cond:
            threads = list(self._threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in threads if t.is_alive()]
        self._started = False
        self._refusing = False
        if alive:
            raise RuntimeError("HttpSink: %d connection thread(s) did not stop" % len(alive))

    def _stop_listening(self):
        self._unlisten()

    def _listen_again(self):
        self._listen()

    def _listen(self):
        srv = _Server(self, (self.host, self.port))
        self.port = srv.server_address[1]
        self._server = srv
        self._serve_thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                              name="HttpSink-serve", daemon=True)
        self._serve_thread.start()

    def _unlisten(self):
        srv, thread = self._server, self._serve_thread
        if srv is None:
            return
        srv.shutdown()
        srv.server_close()
        thread.join(10)
        self._server = self._serve_thread = None

    # -- results ------------------------------------------------------------------------------
    RECEIVED = "request"

    @property
    def requests(self):
        return self._snapshot()

    # -- internals ----------------------------------------------------------------------------
    @staticmethod
    def _zero_counters():
        return dict(connections=0, requests=0, dropped=0, hung=0, tls_failures=0, errors=0)

    def _add_thread(self, t):
        with self._cond:
            self._threads.add(t)

    def _connection_thread(self, server, sock, client_address):
        me = threading.current_thread()
        with self._cond:
            self._conn_seq += 1
            cid = self._conn_seq
            self._counters["connections"] += 1
            self._socks.add(sock)
            self._cond.notify_all()
        conn = sock
        try:
            # A socket object that can carry the connection number as an attribute.
            conn = _IdSocket.wrap(sock)
            self._swap_sock(sock, conn)
            if self._ssl_ctx is not None:
                conn.settimeout(10)
                try:
                    tconn = self._ssl_ctx.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    self._record_tls_failure(e)
                    return
                self._swap_sock(conn, tconn)
                conn = tconn
            conn._sink_id = cid
            if self._stopping.is_set():
                return
            try:
                _RequestHandler(conn, client_address, server)
            except (ConnectionError, socket.timeout, ssl.SSLError):
                pass
            except Exception as e:
                self._record_error(e)
        finally:
            try:
                conn.close()
            except OSError:
                pass
            with self._cond:
                self._socks.discard(conn)
                self._socks.discard(sock)
                self._threads.discard(me)
                self._cond.notify_all()

    def _swap_sock(self, old, new):
        with self._cond:
            self._socks.discard(old)
            self._socks.add(new)

    def _record(self, **kw):
        req = HttpRequest(**kw)
        with self._cond:
            self._received.append(req)
            self._counters["requests"] += 1
            if self.out:
                with open(self.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(req.as_dict(), ensure_ascii=False) + "\n")
            self._cond.notify_all()
        if self.on_request is not None:
            try:
                self.on_request(req)
            except Exception as e:
                self._record_error(e)
        return req

    def _response_for(self, req):
        """-> (status, headers dict, body bytes), or (None, ...) to drop."""
        with self._cond:
            src = self._responses
            item = None
            if callable(src):
                item = src
            elif src is not None:
                item = next(src, None)
        if callable(item):
            item = item(req)
        if item is None:
            item = self.status
        if item == "drop":
            return None, {}, b""
        headers = dict(self.headers)
        body = self.body
        if isinstance(item, tuple):
            status = item[0]
            if len(item) > 1 and item[1]:
                headers.update(item[1])
            if len(item) > 2 and item[2] is not None:
                body = item[2]
        else:
            status = item
        status = int(status)
        if body is self.body and not (200 <= status < 300) and body == b"ok\n":
            body = ("error %d\n" % status).encode()
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        return status, headers, body


class _IdSocket(socket.socket):
    """socket.socket has __slots__; this subclass can carry attributes (_sink_id)."""

    @classmethod
    def wrap(cls, sock):
        timeout = sock.gettimeout()
        s = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        s.settimeout(timeout)
        return s


# -- command line -----------------------------------------------------------------------------

def _print_request(req, stream=None):
    stream = stream or sys.stdout
    lines = ["=" * 72,
             "%s %s  (%s, connection %d, answered %s)" % (
                 req.method, req.path, "HTTPS" if req.tls else "HTTP", req.connection_id,
                 req.status if req.status is not None else req.outcome)]
    for k, v in req.headers.items():
        lines.append("%s: %s" % (k, v))
    lines.append("-" * 72)
    text = req.text
    ctype = (req.headers.get("Content-Type") or "").lower()
    if "json" in ctype or text.lstrip().startswith(("{", "[")):
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    lines.append(text.rstrip("\n"))
    lines.append("=" * 72)
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m harness.http_sink",
                                description="HTTP(S) webhook sink on 127.0.0.1 for escalator "
                                            "tests/demos")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 = ephemeral (default 8080)")
    p.add_argument("--tls", action="store_true", help="HTTPS")
    cli_add_tls_options(p, "--tls")
    p.add_argument("--status", type=int, default=200, help="status to answer (default 200)")
    p.add_argument("--responses", help="comma-separated statuses to answer first, e.g. 503,200")
    p.add_argument("--retry-after", help="Retry-After value for 429/503 answers")
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--out", help="append each request as a JSON line to this file")
    p.add_argument("--print", action="store_true", help="print each request to stdout")
    args = p.parse_args(argv)

    cert, key, ca = cli_certificate(p, args, args.tls)
    responses = [int(x) for x in args.responses.split(",") if x.strip()] if args.responses else None
    sink = HttpSink(args.host, args.port, tls=args.tls, cert_file=cert, key_file=key,
                    ca_file=ca, status=args.status, responses=responses,
                    retry_after=args.retry_after, delay=args.delay, out=args.out)
    stop = threading.Event()

    def printer():
        # Print each request once it has been answered (so its status is known), in order.
        done = 0
        while not stop.is_set():
            sink.wait_until(lambda s: stop.is_set() or any(
                r.outcome for r in s.requests[done:done + 1]), timeout=1.0)
            reqs = sink.requests
            while done < len(reqs) and reqs[done].outcome:
                _print_request(reqs[done])
                done += 1

    pt = None
    if args.print:
        pt = threading.Thread(target=printer, name="printer", daemon=True)
        pt.start()
    try:
        return cli_serve(sink, ca, stop)
    finally:
        stop.set()
        if pt is not None:
            pt.join(3)

if __name__ == "__main__":
    sys.exit(main())
