"""Answer links (issue 14) for the tests that follow one: minting a token, finding the links in
a message as a mail client shows it, reading the answer page's form.

    mint(key, delivery_id, recipient, expires)   a response token as base/token.c makes it
    links_in(data, base)                         the tokens of base + "/r/<token>" links in a raw
                                                 message (its plain text and its HTML's <a href>)
    page_form(html)                              the answer page's form: action, hidden "form"
"""

import base64
import hashlib
import hmac
import re
import struct
from html.parser import HTMLParser

from . import mail_check

TOKEN_RX = r"/r/([A-Za-z0-9_-]{44})"


def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(key, delivery_id, recipient, expires):
    """A response token as base/token.c makes it: version 1, the delivery id and the expiry (unix
    seconds) as 8 bytes big-endian each, then the first 16 bytes of HMAC-SHA256 over
    b"escalator-response\\0", those 17 bytes and the recipient as recorded; base64url without
    padding (44 characters)."""
    if isinstance(key, str):
        key = key.encode()
    body = bytes([1]) + struct.pack(">qq", delivery_id, expires)
    mac = hmac.new(key, b"escalator-response\0" + body + recipient.encode(),
                   hashlib.sha256).digest()[:16]
    return _b64url(body + mac)


def links_in(data, base):
    """The tokens of the answer links (base + "/r/" + token) a mail client shows in the raw
    message data (bytes): its plain text and its HTML's links, in order, each once."""
    out = mail_check.check_message(data, [])
    found = re.findall(re.escape(base) + TOKEN_RX, out["plain"] or "")
    found += [m for href in out["links"]
              for m in re.findall("^" + re.escape(base) + TOKEN_RX + "$", href)]
    seen = []
    for t in found:
        if t not in seen:
            seen.append(t)
    return seen


class _Form(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.action = None
        self.form = None
        self.method = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
            self.method = a.get("method")
        if tag == "input" and a.get("name") == "form":
            self.form = a.get("value")


def page_form(html):
    """The answer page's form as a dict: action, method, form (the hidden token); None each
    where the page has none."""
    p = _Form()
    p.feed(html if isinstance(html, str) else html.decode("utf-8"))
    p.close()
    return {"action": p.action, "method": p.method, "form": p.form}
