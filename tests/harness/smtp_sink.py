"""A real SMTP server on 127.0.0.1 for tests: records messages, injects faults.

Built on Debian 12's python3-aiosmtpd (1.4.x).  The server runs its own asyncio event loop in a
background thread, so it can be used from plain (synchronous) unittest tests:

    with SmtpSink(tls="starttls", auth={"alerts": "s3cret"}) as sink:
        ... point the daemon at 127.0.0.1:sink.port, trust sink.ca_file ...
        msg = sink.wait_for(1, timeout=10)[0]
        assert msg.tls and msg.auth_user == "alerts"
        assert msg.message["Subject"] == "..."

See SmtpSink's docstring for all options and fault modes, and the bottom of this file for the
command line (`python3 -m harness.smtp_sink --port 2525 --print`).
"""

import argparse
import asyncio
import base64
import email
import email.policy
import json
import logging
import socket
import ssl
import sys
import threading
import time

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, TLSSetupException

from .sink import Sink, bind_listener, cli_add_tls_options, cli_certificate, cli_serve

__all__ = ["SmtpSink", "SmtpMessage", "AuthAttempt"]

_log = logging.getLogger("harness.smtp_sink")
# aiosmtpd logs to "mail.log"; keep Python's last-resort handler from printing its warnings into
# test output (a test that configures logging still sees them through propagation).
logging.getLogger("mail.log").addHandler(logging.NullHandler())

DROP_MODES = ("connect", "after_ehlo", "after_helo", "after_starttls", "after_auth",
              "after_mail", "after_rcpt", "after_data", "after_quit")
HANG_MODES = (True, "connect", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "after_data")


def _b2s(b):
    return b.decode("utf-8", errors="surrogateescape") if isinstance(b, (bytes, bytearray)) else b


def _reply(fault, default_code):
    """(code, text) | "code text" | int -> reply line."""
    if isinstance(fault, str):
        return fault
    if isinstance(fault, int):
        return "%d Error" % fault
    code, text = fault
    return "%d %s" % (int(code), text)


class SmtpMessage:
    """One accepted message.

    mail_from     envelope sender (str; '' for the null sender <>)
    rcpt_tos      accepted envelope recipients (list of str; refused ones are not here)
    data          raw message bytes as received (dot-unstuffed, CRLF line ends)
    message       email.message.EmailMessage parsed with email.policy.default
    tls           True if the session was encrypted (STARTTLS done, or SMTPS)
    auth_user     the authenticated user (str) or None
    auth_mechanism  'PLAIN' / 'LOGIN' / 'XOAUTH2' or None
    mail_options  ESMTP MAIL parameters (e.g. ['SIZE=123', 'BODY=8BITMIME'])
    helo          the EHLO/HELO name the client gave
    peer          (host, port) of the client
    session_id    connection number (1-based) the message came in on
    received_at   time.time() when the message was accepted
    Helpers: .subject, .body_text(), .as_dict()
    """

    def __init__(self, **kw):
        self.mail_from = kw["mail_from"]
        self.rcpt_tos = list(kw["rcpt_tos"])
        self.data = kw["data"]
        self.message = email.message_from_bytes(self.data, policy=email.policy.default)
        self.tls = kw.get("tls", False)
        self.auth_user = kw.get("auth_user")
        self.auth_mechanism = kw.get("auth_mechanism")
        self.mail_options = list(kw.get("mail_options") or [])
        self.helo = kw.get("helo")
        self.peer = kw.get("peer")
        self.session_id = kw.get("session_id")
        self.received_at = kw.get("received_at", time.time())

    @property
    def subject(self):
        return self.message["Subject"]

    def body_text(self):
        """The text/plain body (decoded), else the first text part, else ''."""
        msg = self.message
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        try:
            return part.get_content()
        except Exception:  # undecodable content: give the raw payload
            return _b2s(part.get_payload(decode=True) or b"")

    def as_dict(self):
        m = self.message
        return {
            "received_at": self.received_at,
            "session_id": self.session_id,
            "peer": list(self.peer) if self.peer else None,
            "helo": self.helo,
            "tls": self.tls,
            "auth_user": self.auth_user,
            "auth_mechanism": self.auth_mechanism,
            "mail_from": self.mail_from,
            "rcpt_tos": self.rcpt_tos,
            "mail_options": self.mail_options,
            "from": m["From"],
            "to": m["To"],
            "cc": m["Cc"],
            "subject": m["Subject"],
            "date": m["Date"],
            "message_id": m["Message-ID"],
            "headers": [[k, str(v)] for k, v in m.items()],
            "body": self.body_text(),
            "data": self.data.decode("utf-8", errors="replace"),
        }

    def __repr__(self):
        return "<SmtpMessage from=%r to=%r subject=%r tls=%r auth=%r>" % (
            self.mail_from, self.rcpt_tos, self.subject, self.tls, self.auth_user)


class AuthAttempt:
    """One AUTH exchange.

    mechanism  'PLAIN' | 'LOGIN' | 'XOAUTH2'
    user       user name given by the client (str) or None if unparseable
    secret     password (PLAIN/LOGIN) or bearer token (XOAUTH2), str
    sasl       decoded SASL string: PLAIN 'authzid\\0user\\0pass'; XOAUTH2
               'user=U\\x01auth=Bearer T\\x01\\x01'; LOGIN 'user\\0pass' (the two responses)
    responses  list of each decoded client response (str)
    success    bool
    tls        whether the session was encrypted
    session_id, time
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "<AuthAttempt %s user=%r success=%r tls=%r>" % (
            self.mechanism, self.user, self.success, self.tls)


class _HangProtocol(asyncio.Protocol):
    """Accepts a connection and never says anything (hang) or aborts it at once (drop)."""

    def __init__(self, sink, drop):
        self._sink = sink
        self._drop = drop
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self._sink._on_connect(self)
        if self._drop:
            self._sink._count("dropped")
            transport.abort()
        else:
            self._sink._count("hung")

    def data_received(self, data):
        pass  # discard

    def eof_received(self):
        return False  # close

    def connection_lost(self, exc):
        self._sink._conns.discard(self)

    def abort(self):
        if self.transport is not None:
            self.transport.abort()


class _Handler:
    """aiosmtpd handler hooks: fault injection and recording."""

    def __init__(self, sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not server._sink_mechs:
            responses = [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        fault = self.sink.fail_mail
        if fault:
            self.sink._count("mail_rejections")
            return _reply(fault, 550)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        fault = self.sink._rcpt_fault(address)
        if fault:
            self.sink._count("rcpt_rejections")
            return _reply(fault, 550)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        if sink.drop_connection == "after_data":
            await server._sink_drop()
        if sink.hang == "after_data":
            await server._sink_hang()
        if sink.fail_data:
            sink._count("data_rejections")
            return _reply(sink.fail_data, 554)
        n = sink._record_message(
            mail_from=envelope.mail_from or "",
            rcpt_tos=envelope.rcpt_tos,
            data=bytes(envelope.original_content or b""),
            tls=server._sink_tls_active(),
            auth_user=_b2s(session.login_data) if session.authenticated else None,
            auth_mechanism=server._sink_auth_mech if session.authenticated else None,
            mail_options=envelope.mail_options,
            helo=session.host_name,
            peer=session.peer,
            session_id=server._sink_id,
        )
        return "250 2.0.0 OK queued as %d" % n

    async def handle_exception(self, error):
        if isinstance(error, TLSSetupException):
            # STARTTLS handshake failed (e.g. the client rejected an untrusted certificate)
            self.sink._record_tls_failure(error.__cause__ or error)
            return "454 4.7.0 TLS handshake failed"
        self.sink._record_error(error)
        return "500 Error: (%s) %s" % (error.__class__.__name__, error)


class _SinkSMTP(SMTP):
    """aiosmtpd SMTP with the sink's auth mechanisms and per-command fault hooks."""

    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(self, sink, **kw):
        self._sink = sink
        self._sink_id = 0
        self._sink_implicit_tls = False
        self._sink_auth_mech = None
        self._sink_mechs = sink._mechanisms()
        exclude = [m for m in ("PLAIN", "LOGIN", "XOAUTH2") if m not in self._sink_mechs]
        super().__init__(_Handler(sink), auth_exclude_mechanism=exclude, **kw)
        for name, method in list(self._smtp_methods.items()):
            self._smtp_methods[name] = self._sink_wrap(name, method)

    # -- connection bookkeeping ---------------------------------------------------------------
    def connection_made(self, transport):
        first = self._original_transport is None and self._sink_id == 0
        if first:
            self._sink_implicit_tls = transport.get_extra_info("ssl_object") is not None
            self._sink_id = self._sink._on_connect(self)
            # Each line of a multi-line reply (EHLO's) after the first would otherwise wait
            # 40 ms for the client's delayed ACK.
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
        super().connection_made(transport)
        if not first:
            self._sink._count("starttls")

    def connection_lost(self, error):
        try:
            super().connection_lost(error)
        finally:
            self._sink._conns.discard(self)

    def abort(self):
        for t in (self.transport, self._original_transport):
            if t is not None:
                t.abort()

    def _sink_tls_active(self):
        return bool(self._sink_implicit_tls or self._tls_protocol is not None)

    # -- faults -------------------------------------------------------------------------------
    def _sink_wrap(self, name, method):
        lname = name.lower()

        async def wrapped(arg):
            sink = self._sink
            if lname != "data" and sink.drop_connection == "after_" + lname:
                await self._sink_drop()
            if sink.hang == lname:
                await self._sink_hang()
            await method(arg)

        return wrapped

    async def _sink_drop(self):
        self._sink._count("dropped")
        self.abort()
        await asyncio.Event().wait()  # connection_lost() cancels us

    async def _sink_hang(self):
        self._sink._count("hung")
        await asyncio.Event().wait()  # until the client goes away or the sink stops

    async def check_auth_needed(self, caller_method):
        if self._sink.require_auth and not self.session.authenticated:
            await self.push("530 5.7.0 Authentication required")
            return True
        return False

    # -- AUTH mechanisms ----------------------------------------------------------------------
    def _sink_record_auth(self, mech, user, secret, responses, ok, sasl):
        attempt = AuthAttempt(
            mechanism=mech, user=_b2s(user), secret=_b2s(secret), sasl=_b2s(sasl),
            responses=[_b2s(r) for r in responses], success=bool(ok),
            tls=self._sink_tls_active(), session_id=self._sink_id, time=time.time())
        self._sink._record_auth(attempt)
        return attempt

    def _sink_auth_result(self, mech, user, secret, responses, ok, sasl):
        self._sink_record_auth(mech, user, secret, responses, ok, sasl)
        if ok:
            self._sink_auth_mech = mech
            return AuthResult(success=True, auth_data=LoginPassword(user, secret))
        return AuthResult(success=False, handled=False)

    async def _sink_initial(self, args, challenge=""):
        """Initial response (argument or after an empty 334), decoded; None if handled."""
        if len(args) == 1:
            blob = await self.challenge_auth(challenge)
            return None if blob is MISSING else blob
        if args[1] == "=":
            return b""
        try:
            return base64.b64decode(args[1].encode(), validate=True)
        except Exception:
            await self.push("501 5.5.2 Can't decode base64")
            return None

    async def _sink_malformed(self, mech, responses):
        self._sink._record_auth(AuthAttempt(
            mechanism=mech, user=None, secret=None, sasl=_b2s(b"\0".join(responses)),
            responses=[_b2s(r) for r in responses], success=False,
            tls=self._sink_tls_active(), session_id=self._sink_id, time=time.time()))
        await self.push("501 5.5.2 Malformed %s response" % mech)
        return AuthResult(success=False, handled=True)

    async def auth_PLAIN(self, _, args):
        blob = await self._sink_initial(args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        parts = blob.split(b"\0")
        if len(parts) != 3:
            return await self._sink_malformed("PLAIN", [blob])
        _authz, user, password = parts
        ok = self._sink._check_password(user, password)
        return self._sink_auth_result("PLAIN", user, password, [blob], ok, blob)

    async def auth_LOGIN(self, _, args):
        user = await self._sink_initial(args, self.AuthLoginUsernameChallenge)
        if user is None:
            return AuthResult(success=False, handled=True)
        password = await self.challenge_auth(self.AuthLoginPasswordChallenge)
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        ok = self._sink._check_password(user, password)
        return self._sink_auth_result("LOGIN", user, password, [user, password], ok,
                                      user + b"\0" + password)

    async def auth_XOAUTH2(self, _, args):
        blob = await self._sink_initial(args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        fields = {}
        for item in blob.split(b"\x01"):
            if b"=" in item:
                k, _, v = item.partition(b"=")
                fields[k.lower()] = v
        user = fields.get(b"user")
        auth = fields.get(b"auth", b"")
        if user is None or not auth.lower().startswith(b"bearer "):
            return await self._sink_malformed("XOAUTH2", [blob])
        token = auth[7:].strip()
        check = self._sink.xoauth2_check
        try:
            ok = bool(check and check(_b2s(user), _b2s(token)))
        except Exception as e:  # a failing check callable is a failed login, and recorded
            self._sink._record_error(e)
            ok = False
        if not ok and self._sink.xoauth2_error_challenge:
            # Like Gmail: a 334 with a base64 JSON error, the client answers (usually empty
            # or \x01; curl 7.88 just closes the connection), then the final 535.  Recorded
            # first, so a client that hangs up here still leaves its attempt behind.
            attempt = self._sink_record_auth("XOAUTH2", user, token, [blob], False, blob)
            err = json.dumps({"status": "401", "schemes": "bearer",
                              "scope": "https://mail.google.com/"}).encode()
            answer = await self.challenge_auth(err)
            if answer is MISSING:
                return AuthResult(success=False, handled=True)
            attempt.responses.append(_b2s(answer))
            return AuthResult(success=False, handled=False)
        return self._sink_auth_result("XOAUTH2", user, token, [blob], ok, blob)


class SmtpSink(Sink):
    """Real SMTP server on 127.0.0.1 recording what it receives.

    Constructor (all keyword arguments, all optional):
      host='127.0.0.1', port=0          port 0 = ephemeral; the bound port is .port after start()
      tls=None|'starttls'|'smtps'       STARTTLS offered, or implicit TLS on connect
      cert_file, key_file               server certificate; if omitted with tls set, a per-process
                                        test PKI (harness.certs) is used and .ca_file is set
      ca_file                           only recorded as .ca_file, for the test's convenience
      require_starttls=False            530 for MAIL/RCPT/... before STARTTLS (tls='starttls')
      auth=None | {'user': 'pass'}      offer AUTH PLAIN and LOGIN
      auth_require_tls=True             with tls='starttls', AUTH only after STARTTLS
                                        (without TLS configured AUTH is always offered)
      require_auth=False                530 5.7.0 for MAIL/RCPT/DATA before a successful AUTH
      xoauth2_check=None | callable(user, token) -> bool     offer AUTH XOAUTH2
      auth_mechanisms=None | ['XOAUTH2', ...]  offer exactly these (default: PLAIN LOGIN if auth,
                                        plus XOAUTH2 if xoauth2_check)
      xoauth2_error_challenge=True      on XOAUTH2 failure send Gmail-style 334 <json> first
      out=None | path                   append each accepted message as a JSON line
      on_message=None | callable(SmtpMessage)   called in the server thread for each message
      hostname='localhost'              name in the greeting / EHLO reply
      idle_timeout=300                  server closes an idle connection after this many seconds
      data_size_limit=33554432          SIZE advertised; larger messages get 552
      fail_rcpt, fail_mail, fail_data, drop_connection, hang: initial fault settings (below)

    Fault modes (plain attributes, can be changed at any time from the test thread; they apply
    to the next command received):
      fail_rcpt = (code, text)                 every RCPT TO gets this reply
      fail_rcpt = {'addr@x': (code, text)}     only these recipients (case-insensitive)
        (or call set_fail_rcpt(code, text, address=None))
      fail_mail = (code, text)                 MAIL FROM gets this reply
      fail_data = (code, text)                 final reply after the message content
      drop_connection = None | 'connect' | 'after_mail' | 'after_rcpt' | 'after_data' | ...
          abort the TCP connection (no reply) right after accepting it ('connect') or on
          receiving that command ('after_ehlo', 'after_starttls', 'after_auth', 'after_mail',
          'after_rcpt'); 'after_data' = after the whole message content, instead of the final
          reply (the message is not recorded).
      hang = False | True/'connect' | 'mail' | 'rcpt' | 'data' | 'after_data' | ...
          True/'connect': accept new connections but never send the greeting;
          '<command>': never answer that command ('data' = no 354 reply);
          'after_data': read the whole message, never send the final reply.
          A hung connection stays open until the client closes it or stop().
      refuse = True   stop listening (connections are refused); refuse = False or resume()
                      listens again on the same port.  pause() is the same as refuse = True.
      clear_faults()  resets all of the above.

    Results (thread-safe snapshots):
      .messages        list of SmtpMessage;  wait_for(n, timeout=5) -> list (TimeoutError)
      .auths           list of AuthAttempt (every AUTH exchange, in order)
      .sessions        dict of counters: connections (SMTP sessions started, i.e. after the TLS
                       handshake for SMTPS), starttls, tls_failures (failed STARTTLS or SMTPS
                       handshakes), auth_successes, auth_failures,
                       messages, mail_rejections, rcpt_rejections, data_rejections, dropped,
                       hung, errors
      .errors          exceptions seen inside the server (should normally stay empty)
      .tls_errors      exceptions of failed STARTTLS / SMTPS handshakes
      wait_until(predicate, timeout=5)   predicate(sink) -> bool, polled on each event
      clear()          forget messages, auths, counters, errors

    Lifecycle: start() (returns self), stop() (aborts connections, joins the thread),
    or use `with SmtpSink(...) as sink:`.  .port, .host, .address = (host, port).
    """

    def __init__(self, host="127.0.0.1", port=0, *, tls=None, cert_file=None, key_file=None,
                 ca_file=None, require_starttls=False, auth=None, auth_require_tls=True,
                 require_auth=False, xoauth2_check=None, auth_mechanisms=None,
                 xoauth2_error_challenge=True, out=None, on_message=None, hostname="localhost",
                 idle_timeout=300, data_size_limit=2 ** 25, fail_rcpt=None, fail_mail=None,
                 fail_data=None, drop_connection=None, hang=False):
        if tls not in (None, "starttls", "smtps"):
            raise ValueError("tls must be None, 'starttls' or 'smtps'")
        if drop_connection not in (None,) + DROP_MODES:
            raise ValueError("drop_connection must be one of %r" % (DROP_MODES,))
        super().__init__(host, port, tls=tls, cert_file=cert_file, key_file=key_file,
                         ca_file=ca_file)
        self.tls = tls
        self.require_starttls = require_starttls
        self.auth = dict(auth) if auth else None
        self.auth_require_tls = auth_require_tls
        self.require_auth = require_auth
        self.xoauth2_check = xoauth2_check
        self.auth_mechanisms = [m.upper() for m in auth_mechanisms] if auth_mechanisms else None
        self.xoauth2_error_challenge = xoauth2_error_challenge
        self.out = out
        self.on_message = on_message
        self.hostname = hostname
        self.idle_timeout = idle_timeout
        self.data_size_limit = data_size_limit
        self.fail_rcpt = fail_rcpt
        self.fail_mail = fail_mail
        self.fail_data = fail_data
        self.drop_connection = drop_connection
        self.hang = hang
        self._auths = []
        self._conns = set()  # protocols with a connection; only touched in the loop thread
        self._accepted = set()  # accepted sockets not yet handed to a transport
        self._loop = None
        self._thread = None
        self._server = None

    # -- lifecycle ----------------------------------------------------------------------------
    def _start(self):
        if self._thread is not None:
            raise RuntimeError("SmtpSink already started")
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._loop_exception)
        self._thread = threading.Thread(target=self._run, name="SmtpSink", daemon=True)
        self._thread.start()
        try:
            self._call(self._listen())
        except BaseException:
            self.stop()
            raise

    def _running(self):
        return self._thread is not None

    def _stop(self, timeout):
        """Stop listening, abort every open connection, stop the loop and join its thread."""
        if self._thread is None:
            return
        loop, thread = self._loop, self._thread
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
            except Exception as e:  # keep stopping
                _log.debug("shutdown: %r", e)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("SmtpSink thread did not stop within %.1fs" % timeout)
        self._thread = None
        self._loop = None
        self._server = None

    def _stop_listening(self):
        self._call(self._unlisten())

    def _listen_again(self):
        self._call(self._listen())

    def clear_faults(self):
        self.fail_rcpt = self.fail_mail = self.fail_data = None
        self.drop_connection = None
        self.hang = False
        if self._refusing:
            self.resume()

    def set_fail_rcpt(self, code, text, address=None):
        """All recipients (address=None) or one more address get `code text` on RCPT."""
        if address is None:
            self.fail_rcpt = (code, text)
        else:
            current = self.fail_rcpt if isinstance(self.fail_rcpt, dict) else {}
            current = dict(current)
            current[address] = (code, text)
            self.fail_rcpt = current

    # -- results ------------------------------------------------------------------------------
    RECEIVED = "message"

    @property
    def messages(self):
        return self._snapshot()

    @property
    def auths(self):
        with self._cond:
            return list(self._auths)

    def clear(self):
        with self._cond:
            self._auths.clear()
        super().clear()

    # -- internals (loop thread) --------------------------------------------------------------
    @staticmethod
    def _zero_counters():
        return dict(connections=0, starttls=0, tls_failures=0, auth_successes=0, auth_failures=0,
                    messages=0,
                    mail_rejections=0, rcpt_rejections=0, data_rejections=0, dropped=0, hung=0,
                    errors=0)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            try:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            finally:
                self._loop.close()

    def _call(self, coro, timeout=10.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # The listening socket is served with loop.add_reader() and each accepted socket handed
    # to loop.connect_accepted_socket(): unlike asyncio.Server, closing the listener can then
    # never race with an accept in progress (which leaks the accepted socket in 3.11).
    async def _listen(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            bind_listener(sock, self.host, self.port)
            sock.listen(128)
            sock.setblocking(False)
            self._loop.add_reader(sock.fileno(), self._on_acceptable, sock)
        except BaseException:
            sock.close()
            raise
        self._server = sock
        self.port = sock.getsockname()[1]

    def _on_acceptable(self, lsock):
        for _ in range(64):
            try:
                conn, _addr = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self._record_error(e)
                return
            conn.setblocking(False)
            self._accepted.add(conn)
            self._loop.create_task(self._connect(conn))

    async def _connect(self, conn):
        smtps = self.tls == "smtps"
        try:
            await self._loop.connect_accepted_socket(
                self._factory, conn, ssl=self._ssl_ctx if smtps else None,
                ssl_handshake_timeout=10.0 if smtps else None)
        except asyncio.CancelledError:
            conn.close()
            raise
        except ssl.SSLError as e:  # SMTPS handshake failed (e.g. client rejects the cert)
            conn.close()
            self._record_tls_failure(e)
        except (OSError, asyncio.TimeoutError) as e:
            conn.close()
            _log.debug("SmtpSink accept: %r", e)
        finally:
            self._accepted.discard(conn)

    async def _unlisten(self):
        sock, self._server = self._server, None
        if sock is not None:
            self._loop.remove_reader(sock.fileno())
            sock.close()

    async def _shutdown(self):
        await self._unlisten()
        self._abort_all()
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self._abort_all()
        # let the transports' connection_lost callbacks run: they close the sockets
        for _ in range(3):
            await asyncio.sleep(0.01)
        for conn in list(self._accepted):
            conn.close()

    def _abort_all(self):
        for conn in list(self._conns):
            try:
                conn.abort()
            except Exception:
                pass

    def _factory(self):
        if self.drop_connection == "connect":
            return _HangProtocol(self, drop=True)
        if self.hang is True or self.hang == "connect":
            return _HangProtocol(self, drop=False)
        starttls = self.tls == "starttls"
        return _SinkSMTP(
            self,
            hostname=self.hostname,
            ident="escalator test SMTP sink",
            tls_context=self._ssl_ctx if starttls else None,
            require_starttls=bool(starttls and self.require_starttls),
            auth_require_tls=bool(starttls and self.auth_require_tls),
            auth_required=False,  # enforced by _SinkSMTP.check_auth_needed (runtime setting)
            timeout=self.idle_timeout,
            data_size_limit=self.data_size_limit,
            enable_SMTPUTF8=True,
            loop=self._loop,
        )

    def _mechanisms(self):
        if self.auth_mechanisms is not None:
            return list(self.auth_mechanisms)
        mechs = ["PLAIN", "LOGIN"] if self.auth else []
        if self.xoauth2_check is not None:
            mechs.append("XOAUTH2")
        return mechs

    def _check_password(self, user, password):
        if not self.auth:
            return False
        return self.auth.get(_b2s(user)) == _b2s(password)

    def _rcpt_fault(self, address):
        f = self.fail_rcpt
        if not f:
            return None
        if isinstance(f, dict):
            low = address.lower()
            for k, v in f.items():
                if k.lower() == low:
                    return v
            return None
        return f

    def _on_connect(self, proto):
        self._conns.add(proto)
        with self._cond:
            self._conn_seq += 1
            self._counters["connections"] += 1
            self._cond.notify_all()
            return self._conn_seq

    def _record_auth(self, attempt):
        with self._cond:
            self._auths.append(attempt)
            self._counters["auth_successes" if attempt.success else "auth_failures"] += 1
            self._cond.notify_all()

    def _record_message(self, **kw):
        msg = SmtpMessage(received_at=time.time(), **kw)
        with self._cond:
            self._received.append(msg)
            self._counters["messages"] += 1
            n = len(self._received)
            self._cond.notify_all()
        if self.out:
            try:
                line = json.dumps(msg.as_dict(), ensure_ascii=False) + "\n"
                with self._cond, open(self.out, "a", encoding="utf-8") as f:
                    f.write(line)
            except Exception as e:
                self._record_error(e)
        if self.on_message is not None:
            try:
                self.on_message(msg)
            except Exception as e:
                self._record_error(e)
        return n

    def _loop_exception(self, loop, context):
        exc = context.get("exception")
        # TLS handshakes that the client aborts (untrusted certificate tests) and connections
        # reset by the peer are expected here; keep them out of the test output.
        _log.debug("SmtpSink loop: %s %r", context.get("message"), exc)
        if exc is not None and not isinstance(exc, (ssl.SSLError, ConnectionError, OSError)):
            self._record_error(exc)


# -- command line -----------------------------------------------------------------------------

def _print_message(msg, number, stream=None):
    stream = stream or sys.stdout
    m = msg.message
    lines = ["=" * 72,
             "Message %d  (connection %s, %s%s)" % (
                 number, msg.session_id,
                 "TLS" if msg.tls else "no TLS",
                 ", auth %s/%s" % (msg.auth_mechanism, msg.auth_user) if msg.auth_user else ""),
             "Envelope-From: %s" % (msg.mail_from or "<>"),
             "Envelope-To:   %s" % ", ".join(msg.rcpt_tos)]
    for h in ("From", "To", "Cc", "Date", "Subject"):
        if m[h] is not None:
            lines.append("%-14s %s" % (h + ":", m[h]))
    lines.append("-" * 72)
    lines.append(msg.body_text().rstrip("\n"))
    lines.append("=" * 72)
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m harness.smtp_sink",
                                description="SMTP sink on 127.0.0.1 for escalator tests/demos")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525, help="0 = ephemeral (default 2525)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--starttls", action="store_true", help="offer STARTTLS")
    g.add_argument("--smtps", action="store_true", help="implicit TLS on connect")
    cli_add_tls_options(p, "TLS")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--auth", action="append", metavar="USER:PASS",
                   help="accept AUTH PLAIN/LOGIN with these credentials (repeatable)")
    p.add_argument("--require-auth", action="store_true")
    p.add_argument("--out", help="append each message as a JSON line to this file")
    p.add_argument("--print", action="store_true", help="print each message to stdout")
    args = p.parse_args(argv)

    tls = "starttls" if args.starttls else "smtps" if args.smtps else None
    cert, key, ca = cli_certificate(p, args, tls)
    auth = None
    if args.auth:
        auth = {}
        for item in args.auth:
            user, sep, pw = item.partition(":")
            if not sep:
                p.error("--auth wants USER:PASS")
            auth[user] = pw
    count = [0]
    lock = threading.Lock()

    def on_message(msg):
        with lock:
            count[0] += 1
            if args.print:
                _print_message(msg, count[0])

    sink = SmtpSink(args.host, args.port, tls=tls, cert_file=cert, key_file=key, ca_file=ca,
                    require_starttls=args.require_starttls, auth=auth,
                    require_auth=args.require_auth, out=args.out, on_message=on_message)
    return cli_serve(sink, ca)


if __name__ == "__main__":
    sys.exit(main())
