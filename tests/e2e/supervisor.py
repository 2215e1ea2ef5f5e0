#!/usr/bin/env python3
"""Restart supervisor for the end-to-end test (python3 stdlib only).

Runs an NFS server command as a child in the foreground and offers a tiny
control protocol on a TCP port (default 2050, all addresses) so the test
script inside the VM can simulate a server crash:

    guest -> supervisor:  "restart\\n"
    supervisor:           SIGKILL the server, wait for it, start it again with
                          the same argv, wait until every --wait-port accepts
                          TCP connections on 127.0.0.1
    supervisor -> guest:  "ok\\n"  (or "error <reason>\\n"), then close

Other commands: "ping" -> "pong\\n" (liveness check).

Lifetime:
  * SIGTERM/SIGINT/SIGHUP: forwarded to the server child, which gets
    --grace seconds to exit (then SIGKILL); the supervisor exits 0.
  * The server exiting on its own (not killed by a restart): the supervisor
    exits with the child's status (128+signal for a signal), so the caller
    (linux-nfs-client) reports the crash.

Usage:
  supervisor.py [--control-port 2050] [--wait-port 2049 ...]
                [--start-timeout 60] [--grace 8] -- SERVER ARGV...
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time


def log(msg):
    """Writes one timestamped line to stderr (shared with the server's log)."""
    sys.stderr.write("supervisor[%d] %s: %s\n" % (os.getpid(), time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def port_accepts(port, timeout_s=0.5):
    """True when a TCP connect to 127.0.0.1:port succeeds."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def exit_code_of(returncode):
    """Maps a Popen returncode to a shell-style exit status (128+signal)."""
    return 128 - returncode if returncode < 0 else returncode


class Supervisor:
    """Owns the server child process and the control socket."""

    def __init__(self, argv, control_port, wait_ports, start_timeout_s, grace_s):
        self.argv = argv
        self.control_port = control_port
        self.wait_ports = wait_ports
        self.start_timeout_s = start_timeout_s
        self.grace_s = grace_s
        self.child = None
        self.stopping = False
        self.restarts = 0

    def start_child(self):
        """Starts the server (same process group, inherits stdout/stderr)."""
        self.child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)
        log("server started, pid %d: %s" % (self.child.pid, " ".join(self.argv)))

    def wait_ready(self):
        """Waits until all wait ports accept connections. Returns an error
        string, or None when ready."""
        deadline = time.monotonic() + self.start_timeout_s
        pending = list(self.wait_ports)
        while pending:
            if self.child.poll() is not None:
                return "server exited with status %d while starting" % exit_code_of(self.child.returncode)
            if time.monotonic() > deadline:
                return "port(s) %s not accepting after %ss" % (pending, self.start_timeout_s)
            pending = [p for p in pending if not port_accepts(p)]
            if pending:
                time.sleep(0.1)
        return None

    def restart(self):
        """Simulated crash: SIGKILL, reap, start again, wait until ready.
        Returns the reply line for the guest."""
        t0 = time.monotonic()
        old = self.child.pid
        try:
            self.child.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.child.wait()
        log("server pid %d killed with SIGKILL (simulated crash)" % old)
        self.start_child()
        err = self.wait_ready()
        if err:
            log("restart failed: " + err)
            return "error " + err + "\n"
        self.restarts += 1
        log("restart #%d done in %.2fs, ports %s accept connections"
            % (self.restarts, time.monotonic() - t0, self.wait_ports))
        return "ok\n"

    def handle_client(self, conn, addr):
        """Reads one command line from a control connection and answers it."""
        conn.settimeout(10)
        data = b""
        try:
            while b"\n" not in data and len(data) < 256:
                chunk = conn.recv(256)
                if not chunk:
                    break
                data += chunk
        except OSError as e:
            log("control connection from %s: %s" % (addr[0], e))
            return
        cmd = data.split(b"\n", 1)[0].strip().decode("ascii", "replace")
        log("control command from %s: %r" % (addr[0], cmd))
        if cmd == "restart":
            reply = self.restart()
        elif cmd == "ping":
            reply = "pong\n"
        else:
            reply = "error unknown command\n"
        conn.settimeout(30)
        try:
            conn.sendall(reply.encode())
        except OSError as e:
            log("could not reply to %s: %s" % (addr[0], e))

    def stop_child(self):
        """Forwards SIGTERM to the child; SIGKILL after the grace period."""
        if self.child is None or self.child.poll() is not None:
            return
        try:
            self.child.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.child.wait(timeout=self.grace_s)
        except subprocess.TimeoutExpired:
            log("server did not exit %ss after SIGTERM; SIGKILL" % self.grace_s)
            self.child.kill()
            self.child.wait()
        log("server exited with status %d after SIGTERM" % exit_code_of(self.child.returncode))

    def run(self):
        """Main loop; returns the supervisor's exit status."""
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("0.0.0.0", self.control_port))
        lsock.listen(4)
        lsock.settimeout(0.2)

        def on_term(signum, _frame):
            self.stopping = True
            log("got signal %d" % signum)

        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, on_term)

        self.start_child()
        log("control port %d (send 'restart'), waiting for ports %s"
            % (self.control_port, self.wait_ports))
        while not self.stopping:
            if self.child.poll() is not None:
                rc = exit_code_of(self.child.returncode)
                log("server exited on its own with status %d" % rc)
                lsock.close()
                return rc if rc != 0 else 1
            try:
                conn, addr = lsock.accept()
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            with conn:
                self.handle_client(conn, addr)
        lsock.close()
        self.stop_child()
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--control-port", type=int, default=2050)
    ap.add_argument("--wait-port", type=int, action="append", default=[],
                    help="TCP port that must accept connections after a restart (repeatable; default 2049)")
    ap.add_argument("--start-timeout", type=float, default=60.0, help="seconds")
    ap.add_argument("--grace", type=float, default=8.0, help="seconds between SIGTERM and SIGKILL")
    ap.add_argument("argv", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.argv[1:] if a.argv[:1] == ["--"] else a.argv
    if not argv:
        ap.error("missing server command after --")
    sup = Supervisor(argv, a.control_port, a.wait_port or [2049], a.start_timeout, a.grace)
    sys.exit(sup.run())


if __name__ == "__main__":
    main()
