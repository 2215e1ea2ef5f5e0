#!/usr/bin/env python3
"""Tests for supervisor.py (python3 stdlib only, no VM, no root needed).

Run: python3 tests/e2e/supervisor_test.py
A dummy "server" (a python one-liner) listens on a free port and records
its pid in a file, so the tests can see that a restart really starts a new
process.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SUPERVISOR = os.path.join(HERE, "supervisor.py")

DUMMY_SERVER = r"""
import os, socket, sys, time
port, pidfile, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
with open(pidfile, "a") as f:
    f.write("%d\n" % os.getpid())
if os.environ.get("DUMMY_EXIT_AT_ONCE"):
    sys.exit(7)
time.sleep(delay)                      # slow start: supervisor must wait
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(8)
while True:
    c, _ = s.accept(); c.close()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_accepting(port, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def send_command(port, line, timeout_s=30.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as c:
        c.sendall(line.encode() + b"\n")
        data = b""
        while True:
            chunk = c.recv(256)
            if not chunk:
                return data.decode()
            data += chunk


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still "exists"; check its state
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class SupervisorTest(unittest.TestCase):
    def start(self, delay=0.0, env_extra=None):
        self.tmp = tempfile.TemporaryDirectory()
        self.pidfile = os.path.join(self.tmp.name, "pids")
        self.server_port = free_port()
        self.control_port = free_port()
        env = dict(os.environ)
        env.update(env_extra or {})
        self.sup = subprocess.Popen(
            [sys.executable, SUPERVISOR, "--control-port", str(self.control_port),
             "--wait-port", str(self.server_port), "--start-timeout", "20", "--grace", "3", "--",
             sys.executable, "-c", DUMMY_SERVER, str(self.server_port), self.pidfile, str(delay)],
            stderr=subprocess.PIPE, env=env)
        self.addCleanup(self.cleanup)

    def cleanup(self):
        if self.sup.poll() is None:
            self.sup.kill()
            self.sup.wait()
        for pid in self.pids():
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.sup.stderr.close()
        self.tmp.cleanup()

    def pids(self):
        try:
            with open(self.pidfile) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []

    def wait_control(self):
        self.assertTrue(wait_accepting(self.control_port), "control port never listened")

    def test_restart_kills_server_and_starts_a_new_one_before_replying_ok(self):
        self.start(delay=0.5)
        self.wait_control()
        self.assertTrue(wait_accepting(self.server_port))
        first = self.pids()
        self.assertEqual(len(first), 1)
        reply = send_command(self.control_port, "restart")
        self.assertEqual(reply, "ok\n")
        pids = self.pids()
        self.assertEqual(len(pids), 2, "exactly one new server process")
        self.assertNotEqual(pids[0], pids[1])
        self.assertFalse(pid_alive(pids[0]), "old server must be dead")
        # "ok" only after the new server accepts connections (it sleeps 0.5 s first)
        with socket.create_connection(("127.0.0.1", self.server_port), timeout=1):
            pass

    def test_two_restarts_in_a_row(self):
        self.start()
        self.wait_control()
        self.assertEqual(send_command(self.control_port, "restart"), "ok\n")
        self.assertEqual(send_command(self.control_port, "restart"), "ok\n")
        self.assertEqual(len(set(self.pids())), 3)

    def test_ping_and_unknown_command(self):
        self.start()
        self.wait_control()
        self.assertEqual(send_command(self.control_port, "ping"), "pong\n")
        self.assertEqual(send_command(self.control_port, "bogus"), "error unknown command\n")
        self.assertEqual(len(self.pids()), 1, "no restart for other commands")

    def test_sigterm_stops_server_and_exits_zero(self):
        self.start()
        self.wait_control()
        self.assertTrue(wait_accepting(self.server_port))
        self.sup.send_signal(signal.SIGTERM)
        self.assertEqual(self.sup.wait(timeout=10), 0)
        self.assertFalse(pid_alive(self.pids()[0]), "server must be stopped")

    def test_server_exiting_on_its_own_ends_supervisor_with_its_status(self):
        self.start(env_extra={"DUMMY_EXIT_AT_ONCE": "1"})
        self.assertEqual(self.sup.wait(timeout=10), 7)

    def test_server_killed_by_signal_gives_128_plus_signal(self):
        self.start()
        self.wait_control()
        self.assertTrue(wait_accepting(self.server_port))
        os.kill(self.pids()[0], signal.SIGKILL)
        self.assertEqual(self.sup.wait(timeout=10), 128 + signal.SIGKILL)


if __name__ == "__main__":
    unittest.main(verbosity=2)
