"""kazoo and the official Java client (zkCli) against a three-member Warren ensemble:
a session moves to another member with its ephemeral and its watch, sync works on a
follower, a lock is shared between clients on different members, and zkCli writes
through one member and reads through another."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss

from conftest import ROOT, _ruok

REFZK = os.path.join(ROOT, "..", "shared", "refzk")


def _port_below_ephemeral():
    # Below the kernel's ephemeral range, so no outgoing connection takes it first.
    for _ in range(1000):
        p = 10000 + int.from_bytes(os.urandom(2), "big") % 22000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                continue
    raise RuntimeError("no free port")


def _mode(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"srvr")
            out = b""
            while chunk := s.recv(4096):
                out += chunk
    except OSError:
        return ""
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("Mode: "):
            return line[6:]
    return ""


class Ensemble:
    def __init__(self, n=3):
        self.binary = os.environ.get("WARREN_BIN", os.path.join(ROOT, "target/release/warren"))
        self.dir = tempfile.mkdtemp(prefix="warren-kazoo-ensemble-")
        self.ports = [_port_below_ephemeral() for _ in range(n)]
        lines = "".join(
            f"server.{i + 1}=127.0.0.1:{_port_below_ephemeral()}:{_port_below_ephemeral()}\n"
            for i in range(n)
        )
        self.procs = []
        for i in range(n):
            d = os.path.join(self.dir, f"n{i + 1}")
            os.makedirs(os.path.join(d, "data"))
            with open(os.path.join(d, "data", "myid"), "w") as f:
                f.write(f"{i + 1}\n")
            with open(os.path.join(d, "zoo.cfg"), "w") as f:
                f.write(
                    "tickTime=2000\n4lw.commands.whitelist=*\nadmin.enableServer=false\n"
                    f"dataDir={d}/data\nclientPort={self.ports[i]}\n{lines}"
                )
            self.procs.append(None)
            self.start(i)
        deadline = time.time() + 20
        while self.leader() is None:
            assert time.time() < deadline, "no leader; see " + self.dir
            time.sleep(0.05)

    def start(self, i):
        d = os.path.join(self.dir, f"n{i + 1}")
        log = open(os.path.join(d, "server.log"), "a")
        self.procs[i] = subprocess.Popen(
            [self.binary, "--config", os.path.join(d, "zoo.cfg")],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=dict(os.environ, RUST_BACKTRACE="0", RUST_LOG="warn"),
        )
        deadline = time.time() + 20
        while not _ruok(self.ports[i]):
            assert time.time() < deadline, "member did not start; see " + d
            time.sleep(0.05)

    def kill(self, i):
        self.procs[i].kill()
        self.procs[i].wait(timeout=10)

    def leader(self):
        modes = [_mode(p) for p in self.ports]
        return modes.index("leader") if modes.count("leader") == 1 else None

    def addr(self, i):
        return f"127.0.0.1:{self.ports[i]}"

    def close(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def ensemble():
    e = Ensemble()
    yield e
    e.close()


def _client(hosts):
    c = KazooClient(hosts=hosts, timeout=10, randomize_hosts=False)
    c.start(timeout=15)
    return c


def _member_of(ensemble, client, candidates):
    """The member (of `candidates`) whose client port `client` is connected to."""
    port = client._connection._socket.getpeername()[1]
    return next(i for i in candidates if ensemble.addr(i).endswith(f":{port}"))


def test_a_session_moves_with_its_ephemeral_and_its_watch(ensemble):
    leader = ensemble.leader()
    a, b = [i for i in range(3) if i != leader][:2]
    c = _client(f"{ensemble.addr(a)},{ensemble.addr(b)}")
    writer = _client(ensemble.addr(leader))
    c.create("/eph", b"x", ephemeral=True)
    writer.create("/watched", b"0")
    # The create was acknowledged by the leader; c's member may not have applied it yet
    # (ZooKeeper promises no more across clients), so c syncs before it reads.
    c.sync("/watched")
    fired = threading.Event()
    c.get("/watched", watch=lambda ev: fired.set())
    session = c.client_id
    ensemble.kill(_member_of(ensemble, c, (a, b)))
    deadline = time.time() + 20
    while True:
        try:
            if c.exists("/eph") is not None:
                break
        except ConnectionLoss:
            pass
        assert time.time() < deadline, "the client did not reconnect with its ephemeral"
        time.sleep(0.05)
    assert c.client_id == session, "the session changed when it moved"
    writer.set("/watched", b"1")
    assert fired.wait(10), "the watch did not move with the session"
    c.stop()
    writer.stop()


def test_sync_on_a_follower_and_a_lock_shared_across_members(ensemble):
    leader = ensemble.leader()
    f = next(i for i in range(3) if i != leader)
    on_leader, on_follower = _client(ensemble.addr(leader)), _client(ensemble.addr(f))
    on_leader.create("/synced", b"v")
    on_follower.sync("/")
    assert on_follower.get("/synced")[0] == b"v"
    held = []
    lock_a, lock_b = on_leader.Lock("/lock", "a"), on_follower.Lock("/lock", "b")
    with lock_a:
        got = threading.Event()

        def take():
            with lock_b:
                held.append("b")
                got.set()

        t = threading.Thread(target=take)
        t.start()
        assert not got.wait(1), "the lock was taken twice"
        held.append("a")
    assert got.wait(10), "the second client never got the lock"
    t.join(10)
    assert held == ["a", "b"]
    on_leader.stop()
    on_follower.stop()


@pytest.mark.skipif(not os.path.exists(os.path.join(REFZK, "tool.sh")), reason="no ../shared/refzk")
def test_zkcli_writes_through_one_member_and_reads_through_another(ensemble):
    tool = os.path.join(REFZK, "tool.sh")
    leader = ensemble.leader()
    f = next(i for i in range(3) if i != leader)
    out = subprocess.run(
        [tool, "cli", "-server", ensemble.addr(f), "create", "/from-zkcli", "hello"],
        capture_output=True, text=True, timeout=120,
    )
    assert "Created /from-zkcli" in out.stdout + out.stderr, out.stdout + out.stderr
    out = subprocess.run(
        [tool, "cli", "-server", ensemble.addr(leader), "get", "/from-zkcli"],
        capture_output=True, text=True, timeout=120,
    )
    assert "hello" in out.stdout, out.stdout + out.stderr
