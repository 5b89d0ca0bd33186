#!/usr/bin/env python3
"""Install into a temporary prefix and check what a council's IT team gets.

- `cmake --install` puts the binary, the config, rule pack, holidays, schema, unit, sysusers file
  and man pages in place;
- `systemd-analyze verify` passes on the installed unit (with the installed man pages);
- `systemd-analyze security --offline=true` scores it 1.1 or lower;
- the unit's reload runs --check first, so a broken config fails the reload (its ExecReload=
  lines run against a running escalatord: systemd is not PID 1 in the test environment);
- the process allows no core dumps, is not dumpable, and creates its state store 0600 under
  umask 022;
- the installed escalatord --check passes on the installed config and rule pack against a case
  store made from the installed schema.

    /usr/bin/python3 tests/integration/test_install.py --source DIR
"""
import argparse
import os
import re
import resource
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


class TestInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="esc-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        build = os.path.join(cls.tmp, "build")
        r = run(["cmake", "-S", ARGS.source, "-B", build, "-DBUILD_TESTING=OFF",
                 "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_INSTALL_PREFIX={cls.prefix}"])
        assert r.returncode == 0, r.stdout + r.stderr
        r = run(["cmake", "--build", build, "-j2"])
        assert r.returncode == 0, r.stdout + r.stderr
        r = run(["cmake", "--install", build])
        assert r.returncode == 0, r.stdout + r.stderr
        cls.unit = os.path.join(cls.prefix, "lib/systemd/system/escalatord.service")
        cls.etc = os.path.join(cls.prefix, "etc/escalator")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_files_installed(self):
        for rel in ["sbin/escalatord", "etc/escalator/escalator.conf",
                    "etc/escalator/holidays/england-and-wales.txt",
                    "etc/escalator/holidays/scotland.txt",
                    "etc/escalator/holidays/northern-ireland.txt",
                    "etc/escalator/schema.sql", "lib/systemd/system/escalatord.service",
                    "lib/systemd/system/escalatord@.service", "lib/sysusers.d/escalator.conf",
                    "share/man/man8/escalatord.8", "share/man/man5/escalator.conf.5"]:
            self.assertTrue(os.path.exists(os.path.join(self.prefix, rel)), rel)
        rules = os.listdir(os.path.join(self.etc, "rules.d"))
        self.assertTrue(any(r.endswith(".conf") for r in rules), rules)

    def test_unit_points_at_installed_binary(self):
        with open(self.unit) as f:
            text = f.read()
        self.assertIn(f"ExecStart={self.prefix}/sbin/escalatord -c {self.prefix}/etc/escalator/"
                      "escalator.conf", text)
        self.assertIn("ExecStartPre=", text)
        self.assertIn("--check", text)

    def test_systemd_analyze_verify(self):
        env = dict(os.environ, MANPATH=os.path.join(self.prefix, "share/man"))
        r = run(["systemd-analyze", "verify", self.unit], env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "", r.stderr)

    def template_instance(self, name):
        """The installed template as instance NAME (systemd-analyze reads a file's name for
        its instance), in a directory of its own."""
        d = tempfile.mkdtemp(dir=self.tmp)
        path = os.path.join(d, "escalatord@%s.service" % name)
        shutil.copy(os.path.join(self.prefix, "lib/systemd/system/escalatord@.service"), path)
        return path

    def test_template_unit_one_council_per_instance(self):
        # escalatord@NAME: NAME's own configuration and state directory, the same checks on
        # start and reload, and the same hardening as escalatord.service (one source).
        with open(os.path.join(self.prefix, "lib/systemd/system/escalatord@.service")) as f:
            text = f.read()
        conf = f"{self.prefix}/etc/escalator/%i/escalator.conf"
        self.assertIn(f"ExecStartPre={self.prefix}/sbin/escalatord --check -c {conf}\n", text)
        self.assertIn(f"ExecStart={self.prefix}/sbin/escalatord -c {conf}\n", text)
        self.assertIn(f"ExecReload={self.prefix}/sbin/escalatord --check -c {conf}\n", text)
        self.assertIn("StateDirectory=escalator/%i\n", text)
        with open(self.unit) as f:
            single = f.read()
        hardening = [ln for ln in single.splitlines()
                     if re.match(r"(Protect|Private|Restrict|SystemCall|Capability|NoNew|"
                                 r"Memory|LimitCORE|UMask|User=|Group=|SocketBind)", ln)]
        self.assertGreater(len(hardening), 20)
        for ln in hardening:
            self.assertIn(ln + "\n", text, "the template lacks: " + ln)
        env = dict(os.environ, MANPATH=os.path.join(self.prefix, "share/man"))
        r = run(["systemd-analyze", "verify", self.template_instance("north-yorkshire")], env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "", r.stderr)
        r = run(["systemd-analyze", "security", "--offline=true",
                 self.template_instance("rutland")])
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        self.assertLessEqual(float(m.group(1)), 1.1)

    def test_systemd_analyze_security(self):
        r = run(["systemd-analyze", "security", "--offline=true", self.unit])
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        print(f"\nsystemd-analyze security exposure: {m.group(1)}", file=sys.stderr)
        # 1.2 before issue 12's hardening (LimitCORE, SocketBindDeny, PrivateMounts): 1.1.
        self.assertLessEqual(float(m.group(1)), 1.1)

    def installed_test_config(self, name, state_dir):
        """The installed config with its case store (an empty one made from the installed
        schema) and state store pointed at the test's files; its path."""
        schema = os.path.join(self.etc, "schema.sql")
        # Installed with etc/ (test_files_installed): no skip, its absence is a failure.
        self.assertTrue(os.path.exists(schema), "no etc/escalator/schema.sql installed")
        store = os.path.join(self.tmp, "cases.db")
        if not os.path.exists(store):
            db = sqlite3.connect(store)
            with open(schema) as f:
                db.executescript(f.read())
            db.close()
        # The shipped config names /var/lib paths: point them at the test's files.
        with open(os.path.join(self.etc, "escalator.conf")) as f:
            conf = f.read()
        conf = re.sub(r'(?m)^case_store\s*=.*$', f'case_store = "{store}";', conf)
        conf = re.sub(r'(?m)^state\s*=.*$', f'state = "{state_dir}/state.db";', conf)
        path = os.path.join(self.etc, name)
        with open(path, "w") as f:
            f.write(conf)
        return path

    def test_check_on_installed_config(self):
        path = self.installed_test_config("escalator-test.conf", self.tmp)
        r = run([os.path.join(self.prefix, "sbin/escalatord"), "-c", path, "--check"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.strip(), "configuration OK")

    def test_state_store_private_outside_systemd(self):
        """Run as a plain process with umask 022: the state store is still created 0600."""
        state_dir = tempfile.mkdtemp(prefix="state-", dir=self.tmp)
        path = self.installed_test_config("escalator-umask.conf", state_dir)
        r = run([os.path.join(self.prefix, "sbin/escalatord"), "-c", path, "--once"],
                preexec_fn=lambda: os.umask(0o022))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        files = sorted(os.listdir(state_dir))
        self.assertIn("state.db", files)
        for name in files:
            mode = os.stat(os.path.join(state_dir, name)).st_mode & 0o777
            self.assertEqual(mode, 0o600, "%s is %o" % (name, mode))

    def start_installed(self, conf_name, as_nobody=False):
        """Start the installed escalatord as a service on a test copy of the installed config
        (as nobody if asked and the test runs as root); wait until it has started. Returns
        (process, config path, function returning the log so far)."""
        state_dir = tempfile.mkdtemp(prefix="state-", dir=self.tmp)
        path = self.installed_test_config(conf_name, state_dir)
        kw = {}
        if as_nobody and os.geteuid() == 0:
            os.chmod(self.tmp, 0o755)
            os.chown(state_dir, 65534, 65534)
            kw = dict(user=65534, group=65534, extra_groups=[])
        log_path = os.path.join(self.tmp, conf_name + ".log")
        log = open(log_path, "w")
        # Cores allowed as far as the environment lets, so that only escalatord turns them off.
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        p = subprocess.Popen([os.path.join(self.prefix, "sbin/escalatord"), "-c", path],
                             stdout=log, stderr=log,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE,
                                                                   (hard, hard)), **kw)
        log.close()

        def log_text():
            with open(log_path) as f:
                return f.read()

        self.addCleanup(lambda: (p.terminate(), p.wait(timeout=10)))
        deadline = time.monotonic() + 10
        while "starting rules=" not in log_text() and p.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIsNone(p.poll(), log_text())
        self.assertIn("starting rules=", log_text())
        return p, path, log_text

    def test_no_core_dumps_not_dumpable(self):
        """The running service allows no core file (limit 0) and is not dumpable: its /proc
        files belong to root, so another process of its user cannot read its memory or
        environment. Run as nobody when the test runs as root, so the owner tells."""
        p, _, _ = self.start_installed("escalator-dump.conf", as_nobody=True)
        with open("/proc/%d/limits" % p.pid) as f:
            core = [ln.split() for ln in f if ln.startswith("Max core file size")][0]
        self.assertEqual(core[4:6], ["0", "0"], core)
        self.assertNotEqual(resource.getrlimit(resource.RLIMIT_CORE)[1], 0,
                            "the environment allows no cores: this test could not fail")
        with open("/proc/%d/status" % p.pid) as f:
            real_uid = int([ln.split()[1] for ln in f if ln.startswith("Uid:")][0])
        self.assertNotEqual(real_uid, 0, "the daemon should not run as root here")
        self.assertEqual(os.stat("/proc/%d/status" % p.pid).st_uid, 0,
                         "/proc/PID belongs to the daemon's user: it is dumpable")

    def exec_reload(self, mainpid, config):
        """Run the installed unit's ExecReload= commands in order as systemd does ($MAINPID
        replaced, stopping at the first that fails), with the test's config in place of the
        installed one. Returns the exit status of the reload (0, or the failing command's)."""
        with open(self.unit) as f:
            cmds = [ln.split("=", 1)[1].strip() for ln in f if ln.startswith("ExecReload=")]
        installed = os.path.join(self.etc, "escalator.conf")
        for c in cmds:
            argv = [a.replace("$MAINPID", str(mainpid)).replace(installed, config)
                    for a in shlex.split(c)]
            r = run(argv)
            if r.returncode != 0:
                return r.returncode
        return 0

    def test_reload_refused_when_config_broken(self):
        """systemctl reload fails, and the old configuration keeps running, when the new one
        has errors. systemd is not PID 1 where the tests run, so the unit's ExecReload= lines
        are run here the way systemd runs them, against a running escalatord."""
        p, path, log_text = self.start_installed("escalator-reload.conf")
        with open(path) as f:
            good = f.read()
        with open(path, "a") as f:
            f.write("\nnot_a_setting = 1;\n")
        self.assertNotEqual(self.exec_reload(p.pid, path), 0, "reload of a broken config")
        time.sleep(0.3)
        self.assertIsNone(p.poll(), log_text())
        self.assertNotIn("reloading", log_text())  # no SIGHUP was sent
        # A good config reloads.
        with open(path, "w") as f:
            f.write(good)
        self.assertEqual(self.exec_reload(p.pid, path), 0)
        deadline = time.monotonic() + 10
        while "reloaded rules=" not in log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("reloaded rules=", log_text())
        self.assertIsNone(p.poll())

    def test_unit_settings(self):
        with open(self.unit) as f:
            text = f.read()
        settings = [ln.strip() for ln in text.splitlines()
                    if ln.strip() and not ln.startswith("#")]
        reload = [ln for ln in settings if ln.startswith("ExecReload=")]
        self.assertEqual(len(reload), 2, reload)
        self.assertIn("--check", reload[0])
        self.assertTrue(reload[1].endswith("kill -HUP $MAINPID"), reload)
        for want in ("LimitCORE=0", "UMask=0077", "SocketBindDeny=any", "PrivateMounts=yes"):
            self.assertIn(want, settings)
        self.assertTrue(any(ln.startswith("TimeoutStartSec=") for ln in settings))

def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default=os.environ.get("SRCDIR", "."))
    ap.add_argument("--escalatord")  # accepted for symmetry with the other tests; unused
    ARGS, rest = ap.parse_known_args()
    ARGS.source = os.path.abspath(ARGS.source)
    prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
