"""Read escalator's email as a mail client would, for the C tests (test_digest, test_email).

    python3 -m harness.mail_check html FILE [--link URL ...]
        FILE is one HTML document (digest_html). Prints a JSON summary; exits 1 if it breaks a rule.
    python3 -m harness.mail_check mail JSONL [--link URL ...]
        JSONL is what `python3 -m harness.smtp_sink --out JSONL` recorded. Each message is parsed
        with email.message_from_bytes(policy=email.policy.default); prints one JSON summary per
        message (headers, both bodies, the HTML's links); exits 1 if one breaks a rule.

The rules for the HTML (what digest_html promises): a complete document (<!DOCTYPE html>, <html
lang="en">, a non-empty <title>, a <body>), every tag closed in order, no script, image, style
sheet, frame, form or object, no src= or on*= attribute, no url() in inline CSS, and no http(s)
URL anywhere except in <a href> to one of the --link URLs. For a message: multipart/alternative
with a text/plain and a text/html body, both UTF-8.
"""

import argparse
import email
import email.policy
import json
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
FORBIDDEN = {"script", "img", "style", "link", "iframe", "frame", "object", "embed", "form",
             "base", "audio", "video", "source", "svg", "math", "input", "button"}
URL = re.compile(r"https?://", re.I)


class _Doc(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.stack = []
        self.tags = []
        self.links = []
        self.texts = []
        self.title = None
        self.lang = None
        self.doctype = None
        self._in_title = False

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if not self.stack and tag != "html":
            self.problems.append("<%s> outside <html>" % tag)
        if tag in FORBIDDEN:
            self.problems.append("forbidden element <%s>" % tag)
        for name, value in attrs:
            value = value or ""
            if name == "src" or name.startswith("on") or name in ("srcset", "background",
                                                                  "formaction", "action"):
                self.problems.append("forbidden attribute %s= on <%s>" % (name, tag))
            if name == "style" and re.search(r"url\s*\(|@import|expression\s*\(", value, re.I):
                self.problems.append("outside resource in style: %r" % value)
            if name == "href" and tag == "a":
                self.links.append(value)
            elif URL.search(value):
                self.problems.append("URL in %s= of <%s>: %r" % (name, tag, value))
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag == "title":
            self._in_title = True
            self.title = ""
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack
                                                         else "nothing"))
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        self.texts.append(data)
        if URL.search(data):
            self.problems.append("URL in the text: %r" % data.strip()[:120])

    def handle_comment(self, data):
        if URL.search(data):
            self.problems.append("URL in a comment: %r" % data[:120])


def check_html(text, links):
    """A summary of one HTML document with the problems found (an empty list: none)."""
    doc = _Doc()
    doc.feed(text)
    doc.close()
    problems = list(doc.problems)
    if doc.doctype is None or doc.doctype.lower() != "doctype html":
        problems.append("no <!DOCTYPE html> (got %r)" % doc.doctype)
    if doc.lang != "en":
        problems.append('<html lang="en"> missing (got %r)' % doc.lang)
    if not doc.title or not doc.title.strip():
        problems.append("no <title>")
    for want in ("html", "head", "body"):
        if want not in doc.tags:
            problems.append("no <%s>" % want)
    if doc.stack:
        problems.append("left open: %s" % ", ".join("<%s>" % t for t in doc.stack))
    for href in doc.links:
        if href not in links:
            problems.append("link to %r, not one of the case URLs" % href)
    return {
        "problems": problems,
        "title": doc.title,
        "links": doc.links,
        "text": " ".join(" ".join(doc.texts).split()),
        "tags": sorted(set(doc.tags)),
    }


def check_message(data, links):
    """A summary of one raw message (bytes) as a mail client reads it."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    problems = []
    if msg.get_content_type() != "multipart/alternative":
        problems.append("Content-Type %s, not multipart/alternative" % msg.get_content_type())
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    out = {
        "subject": str(msg["Subject"]) if msg["Subject"] is not None else None,
        "reply_to": str(msg["Reply-To"]) if msg["Reply-To"] is not None else None,
        "mime_version": msg["MIME-Version"],
        "content_type": msg.get_content_type(),
        "x_digest": msg["X-Escalator-Digest"],
        "x_case": msg["X-Escalator-Case"],
        "x_delivery": msg["X-Escalator-Delivery"],
        "parts": [p.get_content_type() for p in msg.iter_parts()] if msg.is_multipart() else [],
        "plain": None,
        "html": None,
        "links": [],
    }
    for name, part in (("plain", plain), ("html", html)):
        if part is None:
            problems.append("no text/%s body" % name)
            continue
        if (part.get_content_charset() or "").lower() != "utf-8":
            problems.append("text/%s charset %r" % (name, part.get_content_charset()))
        if part["Content-Transfer-Encoding"] not in ("quoted-printable", "base64"):
            problems.append("text/%s transfer encoding %r" % (name,
                                                              part["Content-Transfer-Encoding"]))
        # As a reader sees it: the transfer's CRLF line ends are just line ends.
        out[name] = part.get_content().replace("\r\n", "\n")
    for line in data.split(b"\r\n"):
        if len(line) > 998:
            problems.append("a line of %d octets" % len(line))
            break
    if out["html"] is not None:
        h = check_html(out["html"], links)
        problems += ["html: " + p for p in h["problems"]]
        out["links"] = h["links"]
        out["title"] = h["title"]
    out["problems"] = problems
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m harness.mail_check")
    p.add_argument("what", choices=("html", "mail"))
    p.add_argument("path")
    p.add_argument("--link", action="append", default=[], help="a URL the HTML may link to")
    a = p.parse_args(argv)
    bad = False
    if a.what == "html":
        with open(a.path, encoding="utf-8") as f:
            out = check_html(f.read(), a.link)
        bad = bool(out["problems"])
        print(json.dumps(out))
    else:
        with open(a.path, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                out = check_message(rec["data"].encode("utf-8"), a.link)
                bad = bad or bool(out["problems"])
                print(json.dumps(out))
    sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
