"""Test PKI made with the `openssl` command-line tool.

    make_test_pki(dirpath) -> dict(ca_file, cert_file, key_file, bad_cert_file, bad_key_file,
                                   ca_key_file, dir)

* ca_file        a test CA certificate (PEM) -- give it to clients as their only trust anchor
* cert_file      server certificate for CN=localhost, SAN DNS:localhost + IP:127.0.0.1,
  key_file       signed by that CA, and its private key
* bad_cert_file  a self-signed certificate (same names) NOT signed by the CA: a client that
  bad_key_file   trusts only ca_file must reject it ("self-signed certificate")

Keys are EC P-256, so generation takes a few tens of milliseconds.  The result is cached per
directory: a complete set already in `dirpath` (marker file `pki.done`) is reused, both within a
process and across processes.  Generation happens in a private temporary subdirectory whose files
are then renamed into place, so concurrent callers on the same directory do not see half-written
files.
"""

import atexit
import os
import shutil
import subprocess
import tempfile
import threading

__all__ = ["make_test_pki", "default_pki", "PKI_FILES"]

PKI_FILES = {
    "ca_file": "ca.pem",
    "ca_key_file": "ca.key",
    "cert_file": "server.pem",
    "key_file": "server.key",
    "bad_cert_file": "untrusted.pem",
    "bad_key_file": "untrusted.key",
}
_MARKER = "pki.done"
_lock = threading.Lock()
_cache = {}
_default_dir = None

_SERVER_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


def _openssl(*args, cwd):
    try:
        subprocess.run(["openssl", *args], cwd=cwd, check=True, timeout=60,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise RuntimeError("the `openssl` command-line tool is required (Debian: openssl)")
    except subprocess.CalledProcessError as e:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), e.stderr.decode(errors="replace")))


def _genkey(name, cwd):
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", name, cwd=cwd)
    os.chmod(os.path.join(cwd, name), 0o600)


def _generate(work):
    # Test CA
    _genkey("ca.key", work)
    _openssl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "3650",
             "-subj", "/O=escalator tests/CN=escalator test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash",
             "-out", "ca.pem", cwd=work)
    # Server certificate for localhost / 127.0.0.1 signed by the CA
    _genkey("server.key", work)
    _openssl("req", "-new", "-key", "server.key", "-subj", "/O=escalator tests/CN=localhost",
             "-out", "server.csr", cwd=work)
    with open(os.path.join(work, "server.ext"), "w") as f:
        f.write(_SERVER_EXT)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", "0x%x" % int.from_bytes(os.urandom(8), "big"),
             "-sha256", "-days", "825", "-extfile", "server.ext", "-out", "server.pem", cwd=work)
    # Untrusted: self-signed, same names, not signed by the CA
    _genkey("untrusted.key", work)
    _openssl("req", "-x509", "-new", "-key", "untrusted.key", "-sha256", "-days", "825",
             "-subj", "/O=somebody else/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-out", "untrusted.pem", cwd=work)


def make_test_pki(dirpath):
    """Create (or reuse) the test PKI in `dirpath`; return a dict of absolute file paths."""
    dirpath = os.path.abspath(os.fspath(dirpath))
    result = {key: os.path.join(dirpath, name) for key, name in PKI_FILES.items()}
    result["dir"] = dirpath
    with _lock:
        if dirpath in _cache and os.path.exists(os.path.join(dirpath, _MARKER)):
            return dict(_cache[dirpath])
        os.makedirs(dirpath, exist_ok=True)
        if not (os.path.exists(os.path.join(dirpath, _MARKER))
                and all(os.path.exists(p) for k, p in result.items() if k != "dir")):
            work = tempfile.mkdtemp(prefix=".pki-", dir=dirpath)
            try:
                _generate(work)
                for name in PKI_FILES.values():
                    os.replace(os.path.join(work, name), os.path.join(dirpath, name))
                with open(os.path.join(dirpath, _MARKER), "w") as f:
                    f.write("escalator test PKI\n")
            finally:
                shutil.rmtree(work, ignore_errors=True)
        _cache[dirpath] = dict(result)
        return dict(result)


def default_pki():
    """A test PKI in a private temporary directory made once per process (removed at exit).

    Used by the sinks when TLS is asked for without a certificate; the sinks then expose the
    CA as .ca_file.  Set ESCALATOR_TEST_PKI_DIR to use (and keep) a fixed directory instead.
    """
    global _default_dir
    fixed = os.environ.get("ESCALATOR_TEST_PKI_DIR")
    if fixed:
        return make_test_pki(fixed)
    with _lock:
        if _default_dir is None:
            _default_dir = tempfile.mkdtemp(prefix="escalator-test-pki-")
            atexit.register(shutil.rmtree, _default_dir, True)
    return make_test_pki(_default_dir)


if __name__ == "__main__":
    import sys
    out = make_test_pki(sys.argv[1] if len(sys.argv) > 1 else "test-pki")
    for k, v in sorted(out.items()):
        print("%s=%s" % (k, v))
