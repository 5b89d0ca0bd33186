"""What the test servers (HttpSink, SmtpSink) share: a server on 127.0.0.1 that records what it
receives under one lock, with a start/stop lifecycle and a listening socket that can be closed
and opened again.

    Sink(host, port, tls=..., cert_file=, key_file=, ca_file=)
      .port (the bound port once started), .host, .address, .ca_file (the CA to trust)
      start() -> self, stop(), or a with block
      refuse = True / pause()     close the listening socket: connections are refused
      refuse = False / resume()   listen again on the same port
      wait_for(n, timeout=5, strict=True) -> list   at least n received (TimeoutError, or with
                                  strict=False what arrived)
      wait_until(predicate, timeout=5) -> bool      predicate(sink), re-checked on every event
      .counters (also .sessions): dict of counts; .errors: exceptions inside the server;
      .tls_errors: failed TLS handshakes; clear(): forget everything received

A subclass names what it receives (RECEIVED, e.g. "request"), keeps it in self._received, its
counters in _zero_counters(), and implements _start(), _stop(timeout), _running(),
_stop_listening() and _listen_again().
"""

import errno
import logging
import random
import signal
import ssl
import sys
import threading
import time


# Ports a sink picks itself come from below Linux's ephemeral range (32768-60999), where neither
# a port-0 bind nor an outgoing connection's local port can land. A sink that stops listening
# (an outage) and listens again on its port then finds it free: a parallel test's client could
# otherwise take it in between ("Address already in use").
LISTEN_PORTS = (20000, 32767)


def bind_listener(sock, host, port, wait=5.0):
    """Bind sock to (host, port); port 0 picks a free port in LISTEN_PORTS. A fixed port still
    held (a closing connection) is retried for `wait` seconds."""
    if port == 0:
        for _ in range(200):
            try:
                sock.bind((host, random.randint(*LISTEN_PORTS)))
                return
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
        sock.bind((host, 0))
        return
    deadline = time.monotonic() + wait
    while True:
        try:
            sock.bind((host, port))
            return
        except OSError as e:
            if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Sink:
    RECEIVED = "item"  # what wait_for counts, for its message

    def __init__(self, host="127.0.0.1", port=0, *, tls=False, cert_file=None, key_file=None,
                 ca_file=None):
        self.host = host
        self.port = port
        self.cert_file, self.key_file, self.ca_file = cert_file, key_file, ca_file
        if tls and not (cert_file and key_file):
            from . import certs
            pki = certs.default_pki()
            self.cert_file, self.key_file = pki["cert_file"], pki["key_file"]
            self.ca_file = ca_file or pki["ca_file"]
        self._ssl_ctx = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert_file, self.key_file)
            self._ssl_ctx = ctx
        self._log = logging.getLogger(type(self).__module__)
        self._cond = threading.Condition()
        self._received = []
        self._errors = []
        self._tls_errors = []
        self._counters = self._zero_counters()
        self._conn_seq = 0
        self._refusing = False

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self):
        self._start()
        return self

    def stop(self, timeout=10.0):
        self._stop(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        return (self.host, self.port)

    @property
    def refuse(self):
        return self._refusing

    @refuse.setter
    def refuse(self, value):
        if value:
            self.pause()
        else:
            self.resume()

    def pause(self):
        """Close the listening socket: new connections are refused (open ones carry on)."""
        if self._running() and not self._refusing:
            self._stop_listening()
            self._refusing = True

    def resume(self):
        """Listen again on the same port after pause() / refuse = True."""
        if self._running() and self._refusing:
            self._listen_again()
            self._refusing = False

    # -- results ------------------------------------------------------------------------------
    def _snapshot(self):
        with self._cond:
            return list(self._received)

    @property
    def counters(self):
        with self._cond:
            return dict(self._counters)

    sessions = counters

    @property
    def errors(self):
        with self._cond:
            return list(self._errors)

    @property
    def tls_errors(self):
        with self._cond:
            return list(self._tls_errors)

    def clear(self):
        with self._cond:
            self._received.clear()
            self._errors.clear()
            self._tls_errors.clear()
            self._counters = self._zero_counters()

    def wait_for(self, n=1, timeout=5.0, strict=True):
        """Wait until at least n were received; return them (a list).

        On timeout raise TimeoutError, or with strict=False return what arrived.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._received) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    if strict:
                        raise TimeoutError("%s: expected %d %s(s) within %.1fs, got %d"
                                           % (type(self).__name__, n, self.RECEIVED, timeout,
                                              len(self._received)))
                    break
                self._cond.wait(left)
            return list(self._received)

    def wait_until(self, predicate, timeout=5.0):
        """Wait until predicate(self) is true (re-checked on every server event); True/False."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate(self):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))

    # -- for the server threads ---------------------------------------------------------------
    def _count(self, key, n=1):
        with self._cond:
            self._counters[key] = self._counters.get(key, 0) + n
            self._cond.notify_all()

    def _notify(self):
        with self._cond:
            self._cond.notify_all()

    def _record_tls_failure(self, error):
        self._log.debug("%s TLS failure: %r", type(self).__name__, error)
        with self._cond:
            self._tls_errors.append(error)
            self._counters["tls_failures"] += 1
            self._cond.notify_all()

    def _record_error(self, error):
        self._log.debug("%s error: %r", type(self).__name__, error)
        with self._cond:
            self._errors.append(error)
            self._counters["errors"] += 1
            self._cond.notify_all()


# -- the command lines (python3 -m harness.http_sink / smtp_sink) ------------------------------

def cli_add_tls_options(p, what):
    p.add_argument("--cert", help="server certificate (PEM)")
    p.add_argument("--key", help="server private key (PEM)")
    p.add_argument("--pki-dir", help="with %s and no --cert: make/reuse a test PKI here "
                   "(default: a temporary directory); the CA path is printed on stderr" % what)


def cli_certificate(p, args, tls):
    """(cert, key, ca) from --cert/--key, or a test PKI's (ca: its CA) when TLS is on."""
    cert, key, ca = args.cert, args.key, None
    if tls and not (cert and key):
        if cert or key:
            p.error("--cert and --key go together")
        from . import certs
        pki = certs.make_test_pki(args.pki_dir) if args.pki_dir else certs.default_pki()
        cert, key, ca = pki["cert_file"], pki["key_file"], pki["ca_file"]
    return cert, key, ca


def cli_serve(sink, ca, stop=None):
    """Start sink, print 'CA <path>' on stderr (a test PKI's) and 'READY <port>' on stdout, and
    serve until SIGINT or SIGTERM (or stop is set); then stop it."""
    stop = stop or threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sink.start()
    try:
        if ca:
            sys.stderr.write("CA %s\n" % ca)
            sys.stderr.flush()
        sys.stdout.write("READY %d\n" % sink.port)
        sys.stdout.flush()
        while not stop.wait(3600):
            pass
    finally:
        sink.stop()
    return 0
