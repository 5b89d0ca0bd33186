#!/usr/bin/python3
"""Print every rule's `query` (or `history`) from libconfig rule files as one SQL script (for the
sqlite3 CLI).

    /usr/bin/python3 tests/bench/rulequeries.py etc/rules.d > queries.sql
    /usr/bin/python3 tests/bench/rulequeries.py etc/rules.d history > history.sql
    sqlite3 cases.db < queries.sql > /dev/null

Standard library only. It reads the rule files the way libconfig does as far as `query` needs:
comments (`#`, `//`, `/* */`) outside strings are ignored, a string value may be several
adjacent string literals ("a" "b" is "ab"), and the escapes \\", \\\\, \\n, \\t, \\r, \\f and
\\xHH are decoded. Files are taken in name order (*.conf, not starting with "."), as escalatord
loads them; the queries come out in the order escalatord runs them.
"""

import os
import re
import sys

_ESC = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "f": "\f"}


def _string_at(text, i):
    """Decode the libconfig string literal starting at text[i] == '"'; return (value, end)."""
    assert text[i] == '"'
    out, i = [], i + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            n = text[i + 1]
            if n == "x":
                out.append(chr(int(text[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append(_ESC.get(n, n))
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise ValueError("unterminated string")


def _skip_space_and_comments(text, i):
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text[i] == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            i = len(text) if j < 0 else j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = len(text) if j < 0 else j + 2
        else:
            break
    return i


def queries_in(text, setting="query"):
    """Every string value of the setting called `setting` in one libconfig file, in order."""
    found, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            _, i = _string_at(text, i)
            continue
        if c == "#" or text.startswith("//", i) or text.startswith("/*", i):
            i = _skip_space_and_comments(text, i)
            continue
        m = re.compile(r"[A-Za-z*][-A-Za-z0-9_*]*").match(text, i)
        if m is None:
            i += 1
            continue
        name, i = m.group(0), m.end()
        j = _skip_space_and_comments(text, i)
        if name != setting or j >= n or text[j] not in "=:":
            continue
        j = _skip_space_and_comments(text, j + 1)
        parts = []
        while j < n and text[j] == '"':
            s, j = _string_at(text, j)
            parts.append(s)
            j = _skip_space_and_comments(text, j)
        if parts:
            found.append("".join(parts))
        i = j
    return found


def rule_queries(rules_dir, setting="query"):
    out = []
    for name in sorted(os.listdir(rules_dir)):
        if name.startswith(".") or not name.endswith(".conf"):
            continue
        with open(os.path.join(rules_dir, name), encoding="utf-8") as f:
            out.extend(queries_in(f.read(), setting))
    return out


def sql_script(rules_dir, setting="query"):
    """The rules' `query` (or `history`, for escalatord report) statements as one script."""
    return "".join(q.strip().rstrip(";") + ";\n" for q in rule_queries(rules_dir, setting))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: rulequeries.py RULES_DIR [query|history] > queries.sql")
    sys.stdout.write(sql_script(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "query"))
