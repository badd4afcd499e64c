"""Starts the warren binary on a free port with a temp data dir for the kazoo recipe tests."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from kazoo.client import KazooClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ruok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"ruok")
            return s.recv(16) == b"imok"
    except OSError:
        return False


@pytest.fixture(scope="module")
def warren():
    binary = os.environ.get("WARREN_BIN", os.path.join(ROOT, "target/release/warren"))
    d = tempfile.mkdtemp(prefix="warren-kazoo-")
    port = _free_port()
    cfg = os.path.join(d, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write(
            "tickTime=2000\n4lw.commands.whitelist=*\nextendedTypesEnabled=true\n"
            f"dataDir={d}/data\nclientPort={port}\n"
        )
    log = open(os.path.join(d, "server.log"), "w")
    proc = subprocess.Popen(
        [binary, "--config", cfg, "--port", str(port), "--data-dir", f"{d}/data"],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=dict(os.environ, RUST_BACKTRACE="0", RUST_LOG="warn"),
    )
    deadline = time.time() + 20
    while not _ruok(port):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("warren did not start; see " + d)
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    proc.kill()
    proc.wait(timeout=10)
    log.close()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def client_factory(warren):
    clients = []

    def make():
        c = KazooClient(hosts=warren, timeout=10)
        c.start(timeout=10)
        clients.append(c)
        return c

    yield make
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:
            pass
