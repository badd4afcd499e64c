"""Real servers for the client-library tests: Warren (the release binary) and, where it
is installed, the reference Apache ZooKeeper 3.8, each on a free port with its own
temporary data dir, and stopped when the test is done with it."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFZK = os.path.join(ROOT, "..", "shared", "refzk")
if not os.path.exists(os.path.join(REFZK, "start.sh")):
    REFZK = "/work/shared/refzk"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ruok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"ruok")
            return s.recv(16) == b"imok"
    except OSError:
        return False


class WarrenServer:
    """One `warren` process; `restart()` starts it again on the same port and data dir."""

    def __init__(self):
        self.binary = os.environ.get("WARREN_BIN", os.path.join(ROOT, "target/release/warren"))
        self.dir = tempfile.mkdtemp(prefix="warren-clients-")
        self.port = free_port()
        self.cfg = os.path.join(self.dir, "zoo.cfg")
        with open(self.cfg, "w") as f:
            f.write(
                "tickTime=2000\n4lw.commands.whitelist=*\nextendedTypesEnabled=true\n"
                f"dataDir={self.dir}/data\nclientPort={self.port}\n"
            )
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = None
        self.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--config", self.cfg, "--port", str(self.port),
             "--data-dir", f"{self.dir}/data"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=dict(os.environ, RUST_BACKTRACE="0", RUST_LOG="warn"),
        )
        deadline = time.time() + 20
        while not ruok(self.port):
            if time.time() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                raise RuntimeError("warren did not start; see " + self.dir)
            time.sleep(0.05)

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ReferenceServer:
    """The reference ZooKeeper 3.8, started by the shared refzk/start.sh."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="refzk-clients-")
        self.port = free_port()
        out = subprocess.run(
            ["bash", os.path.join(REFZK, "start.sh"), self.dir, str(self.port)],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
        if out.returncode != 0:
            raise RuntimeError("reference ZooKeeper did not start: " + out.stderr)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def close(self):
        subprocess.run(["bash", os.path.join(REFZK, "stop.sh"), self.dir], timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def reference_available():
    return os.path.exists(os.path.join(REFZK, "start.sh")) and shutil.which("java") is not None


def srvr_mode(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"srvr")
            out = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
    except OSError:
        return ""
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("Mode: "):
            return line[len("Mode: "):]
    return ""


class WarrenEnsemble:
    """Three (or `n`) Warren members on free ports, each with its myid; ready once one
    leads and the others follow. `extra_cfg` (zoo.cfg lines) is added to every member's."""

    def __init__(self, n=3, extra_cfg=""):
        self.dir = tempfile.mkdtemp(prefix="warren-ensemble-")
        self.binary = os.environ.get("WARREN_BIN", os.path.join(ROOT, "target/release/warren"))
        lines = "".join(f"server.{i}=127.0.0.1:{free_port()}:{free_port()}\n" for i in range(1, n + 1))
        self.members = []
        for i in range(1, n + 1):
            d = os.path.join(self.dir, f"m{i}")
            os.makedirs(os.path.join(d, "data"))
            with open(os.path.join(d, "data", "myid"), "w") as f:
                f.write(f"{i}\n")
            port = free_port()
            cfg = os.path.join(d, "zoo.cfg")
            with open(cfg, "w") as f:
                f.write(
                    "tickTime=2000\ninitLimit=10\nsyncLimit=5\n4lw.commands.whitelist=*\n"
                    f"dataDir={d}/data\nclientPort={port}\n{lines}{extra_cfg}"
                )
            self.members.append({"port": port, "cfg": cfg, "dir": d, "proc": None})
        for m in self.members:
            self.start(m)
        deadline = time.time() + 30
        while True:
            modes = [srvr_mode(m["port"]) for m in self.members if m["proc"]]
            if modes.count("leader") == 1 and all(x in ("leader", "follower") for x in modes):
                break
            if time.time() > deadline:
                raise RuntimeError(f"no leader in {self.dir}: {modes}")
            time.sleep(0.1)

    def start(self, m):
        log = open(os.path.join(m["dir"], "server.log"), "a")
        m["proc"] = subprocess.Popen(
            [self.binary, "--config", m["cfg"]],
            stdout=subprocess.DEVNULL, stderr=log,
            env=dict(os.environ, RUST_BACKTRACE="0", RUST_LOG="warn"),
        )

    @property
    def address(self):
        return ",".join(f"127.0.0.1:{m['port']}" for m in self.members)

    def kill(self, port):
        """Kills the member serving `port` (SIGKILL), as a crash would."""
        for m in self.members:
            if m["port"] == port and m["proc"]:
                m["proc"].kill()
                m["proc"].wait(timeout=10)
                m["proc"] = None
                return
        raise KeyError(port)

    def close(self):
        for m in self.members:
            if m["proc"]:
                m["proc"].kill()
                m["proc"].wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
