#!/usr/bin/python3
"""The benchmark's loopback sinks, in a process of their own: tests/harness's HttpSink and/or
SmtpSink on 127.0.0.1, plain (no TLS), answering 200 / 250 at once.

    /usr/bin/python3 tests/bench/sinkd.py [--http] [--smtp]

The sinks are the harness's as they are (with TCP_NODELAY, so no exchange waits 40 ms for a
delayed ACK, which would make the sinks what is measured). Keeping the sinks out of the
driver's process keeps the driver's work (reading escalatord's log, waiting) from competing
with them for Python's GIL.

On start it prints one JSON line with the bound ports, {"http": PORT, "smtp": PORT}, then
reads one command per line on standard input and answers each with one JSON line:

    count   {"http": requests received, "smtp": messages accepted}
    dump    {"http": [[arrival unix time, X-Escalator-Delivery, body "fires", status], ...],
             "smtp": [[arrival unix time, X-Escalator-Delivery], ...], "errors": n}
    clear   forget everything received
    quit    stop the sinks and exit (also on end of input)
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from harness import HttpSink  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--http", action="store_true")
    p.add_argument("--smtp", action="store_true")
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--smtp-port", type=int, default=0)
    args = p.parse_args()

    http = smtp = None
    if args.http:
        # A longer idle timeout than the default, so wrk's and escalatord's keep-alive
        # connections are never cut in the middle of a run.
        http = HttpSink(port=args.http_port, idle_timeout=120.0).start()
    if args.smtp:
        from harness import SmtpSink
        smtp = SmtpSink(port=args.smtp_port).start()
    out = sys.stdout
    out.write(json.dumps({"http": http.port if http else None,
                          "smtp": smtp.port if smtp else None}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "count":
                ans = {"http": len(http.requests) if http else 0,
                       "smtp": len(smtp.messages) if smtp else 0}
            elif cmd == "dump":
                hreqs = []
                for r in http.requests if http else []:
                    fires = None
                    try:
                        fires = r.json().get("fires")
                    except ValueError:
                        pass
                    hreqs.append([r.time, r.headers.get("X-Escalator-Delivery"), fires,
                                  r.status])
                sreqs = [[m.received_at, m.message["X-Escalator-Delivery"]]
                         for m in (smtp.messages if smtp else [])]
                errors = (len(http.errors) if http else 0) + (len(smtp.errors) if smtp else 0)
                ans = {"http": hreqs, "smtp": sreqs, "errors": errors}
            elif cmd == "clear":
                if http:
                    http.clear()
                if smtp:
                    smtp.clear()
                ans = {"ok": True}
            elif cmd == "quit":
                break
            else:
                ans = {"error": "unknown command %r" % cmd}
            out.write(json.dumps(ans) + "\n")
            out.flush()
    finally:
        if http:
            http.stop()
        if smtp:
            smtp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
