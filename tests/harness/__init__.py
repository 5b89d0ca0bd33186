"""Real servers on 127.0.0.1 for escalator's tests (Debian 12 python3 + python3-aiosmtpd).

    from harness import SmtpSink, HttpSink, make_test_pki

    SmtpSink    SMTP server (plain / STARTTLS / SMTPS, AUTH PLAIN LOGIN XOAUTH2, fault modes)
    HttpSink    HTTP(S) webhook receiver (status sequences, delay, hang, drop, refuse)
    make_test_pki(dir)   test CA + localhost certificate + an untrusted self-signed certificate

Both servers are harness.sink.Sink (lifecycle, refuse/resume, wait_for, wait_until, counters).
harness.daemon has what the tests of escalatord share (DaemonCase, Daemon, run_main).

Run the harness's own tests:  cd tests && /usr/bin/python3 -m harness.selftest -v
Command lines:  python3 -m harness.smtp_sink --help,  python3 -m harness.http_sink --help

Names are imported lazily, so `python3 -m harness.smtp_sink` does not import the module twice
and the HTTP sink works even where aiosmtpd is missing.
"""

__all__ = ["SmtpSink", "SmtpMessage", "AuthAttempt", "HttpSink", "HttpRequest", "Headers",
           "make_test_pki", "default_pki"]

_WHERE = {
    "SmtpSink": "smtp_sink", "SmtpMessage": "smtp_sink", "AuthAttempt": "smtp_sink",
    "HttpSink": "http_sink", "HttpRequest": "http_sink", "Headers": "http_sink",
    "make_test_pki": "certs", "default_pki": "certs",
}


def __getattr__(name):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError("module 'harness' has no attribute %r" % name)
    import importlib
    value = getattr(importlib.import_module("." + mod, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
