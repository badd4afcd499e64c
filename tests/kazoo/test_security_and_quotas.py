"""TLS on secureClientPort, SASL DIGEST-MD5 and quotas, with real clients (kazoo, openssl).

Each test starts its own warren with the configuration it needs, using the certificates
made by `openssl` in a temp dir: a CA, a server certificate (as a PKCS#12 key store) and a
client certificate. JKS stores made by keytool are tested in
cli/tests/jks_keystores_serve_the_secure_port.rs and by kazoo's own SSL test
(test_kazoo_own_suite.py).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import AuthFailedError, NoAuthError, QuotaExceededError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.security import ACL, Id

from conftest import ROOT, _free_port, _ruok


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs():
    d = tempfile.mkdtemp(prefix="warren-certs-")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "2", "-subj", "/CN=warren-test-ca", cwd=d)
    for name, ext, subj in [
        ("server", "subjectAltName=DNS:localhost,IP:127.0.0.1", "/CN=localhost"),
        ("client", "extendedKeyUsage=clientAuth", "/O=Warren/CN=client1"),
    ]:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                 "-extfile", f"{name}.ext", cwd=d)
    _openssl("pkcs12", "-export", "-in", "server.crt", "-inkey", "server.key",
             "-out", "server.p12", "-passout", "pass:secret", cwd=d)
    # An X.509 v1 server certificate (no extensions), as kazoo's own harness makes one;
    # Java serves such certificates, and so must Warren.
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "v1.key", "-out", "v1.csr",
             "-subj", "/CN=localhost", cwd=d)
    _openssl("x509", "-req", "-in", "v1.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "v1.crt", "-days", "2", cwd=d)
    with open(os.path.join(d, "v1.pem"), "w") as out:
        for part in ("v1.crt", "v1.key"):
            with open(os.path.join(d, part)) as f:
                out.write(f.read())
    # A Java KeyStore cut short after its header, which Warren must refuse cleanly.
    with open(os.path.join(d, "server.jks"), "wb") as f:
        f.write(b"\xfe\xed\xfe\xed\x00\x00\x00\x02")
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Server:
    """A warren process with extra zoo.cfg lines."""

    def __init__(self, extra):
        self.dir = tempfile.mkdtemp(prefix="warren-sec-")
        self.port = _free_port()
        self.secure_port = _free_port()
        cfg = os.path.join(self.dir, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(
                f"tickTime=2000\n4lw.commands.whitelist=*\ndataDir={self.dir}/data\n"
                f"clientPort={self.port}\n"
                + extra.replace("SECURE_PORT", str(self.secure_port))
            )
        binary = os.environ.get("WARREN_BIN", os.path.join(ROOT, "target/release/warren"))
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--config", cfg], stdout=subprocess.DEVNULL, stderr=self.log,
            env=dict(os.environ, RUST_BACKTRACE="0", RUST_LOG="info"),
        )
        deadline = time.time() + 20
        while not _ruok(self.port):
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("warren did not start; see " + self.dir)
            time.sleep(0.05)

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _started(client):
    client.start(timeout=10)
    return client


def test_tls_with_pkcs12_store_and_x509_identity(certs):
    s = Server(
        "secureClientPort=SECURE_PORT\n"
        f"ssl.keyStore.location={certs}/server.p12\nssl.keyStore.password=secret\n"
        f"ssl.trustStore.location={certs}/ca.pem\nssl.clientAuth=need\n"
    )
    try:
        deadline = time.time() + 10
        while "serving TLS clients" not in s.log_text():
            assert time.time() < deadline, s.log_text()
            time.sleep(0.05)
        tls = _started(KazooClient(
            hosts=f"127.0.0.1:{s.secure_port}", use_ssl=True, verify_certs=True,
            ca=f"{certs}/ca.pem", certfile=f"{certs}/client.crt",
            keyfile=f"{certs}/client.key", timeout=10,
        ))
        # The client certificate's subject is an x509 identity that ACLs can name.
        tls.create("/x509only", b"secret", acl=[ACL(31, Id("x509", "CN=client1,O=Warren"))])
        assert tls.get("/x509only")[0] == b"secret"
        tls.stop()
        plain = _started(KazooClient(hosts=f"127.0.0.1:{s.port}", timeout=10))
        with pytest.raises(NoAuthError):
            plain.get("/x509only")
        plain.stop()
        # openssl s_client without a client certificate is refused by ssl.clientAuth=need.
        out = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{s.secure_port}",
             "-CAfile", f"{certs}/ca.pem"],
            input=b"", capture_output=True, timeout=20,
        )
        assert b"Verify return code: 0" in out.stdout
        assert _ruok(s.port)
    finally:
        s.stop()


def test_an_x509_v1_server_certificate_is_served(certs):
    out = subprocess.run(["openssl", "x509", "-in", f"{certs}/v1.crt", "-noout", "-text"],
                         capture_output=True, text=True, check=True).stdout
    assert "Version: 1 (0x0)" in out
    s = Server(
        "secureClientPort=SECURE_PORT\n"
        f"ssl.keyStore.location={certs}/v1.pem\nssl.clientAuth=none\n"
    )
    try:
        tls = _started(KazooClient(
            hosts=f"127.0.0.1:{s.secure_port}", use_ssl=True, verify_certs=True,
            ca=f"{certs}/ca.pem", timeout=10,
        ))
        tls.create("/over-v1", b"v1")
        assert tls.get("/over-v1")[0] == b"v1"
        tls.stop()
    finally:
        s.stop()


def test_a_damaged_jks_store_disables_only_the_secure_port(certs):
    s = Server(
        "secureClientPort=SECURE_PORT\n"
        f"ssl.keyStore.location={certs}/server.jks\nssl.keyStore.password=secret\n"
    )
    try:
        deadline = time.time() + 10
        while "secure client port" not in s.log_text():
            assert time.time() < deadline, s.log_text()
            time.sleep(0.05)
        assert f"{certs}/server.jks: truncated JKS store" in s.log_text()
        c = _started(KazooClient(hosts=f"127.0.0.1:{s.port}", timeout=10))
        c.create("/still-serving", b"")
        c.stop()
    finally:
        s.stop()


def test_sasl_digest_md5_from_a_jaas_file():
    d = tempfile.mkdtemp(prefix="warren-jaas-")
    jaas = os.path.join(d, "jaas.conf")
    with open(jaas, "w") as f:
        f.write('Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n'
                ' user_bob="bobsecret";\n};\n')
    s = Server(f"warren.sasl.jaasConfig={jaas}\n")
    try:
        bob = _started(KazooClient(
            hosts=f"127.0.0.1:{s.port}", timeout=10,
            sasl_options={"mechanism": "DIGEST-MD5", "username": "bob",
                          "password": "bobsecret"},
        ))
        bob.create("/saslonly", b"s", acl=[ACL(31, Id("sasl", "bob"))])
        assert bob.get("/saslonly")[0] == b"s"
        bob.stop()
        anon = _started(KazooClient(hosts=f"127.0.0.1:{s.port}", timeout=10))
        with pytest.raises(NoAuthError):
            anon.get("/saslonly")
        anon.stop()
        wrong = KazooClient(
            hosts=f"127.0.0.1:{s.port}", timeout=5, connection_retry={"max_tries": 1},
            sasl_options={"mechanism": "DIGEST-MD5", "username": "bob",
                          "password": "wrong"},
        )
        # kazoo either finishes start() and then fails every call with AuthFailedError,
        # or sees the failure first and gives up starting; both mean: refused.
        try:
            wrong.start(timeout=5)
            with pytest.raises(AuthFailedError):
                wrong.get("/saslonly")
        except KazooTimeoutError:
            pass
        finally:
            wrong.stop()
        assert 'authentication failed for user "bob"' in s.log_text()
    finally:
        s.stop()
        shutil.rmtree(d, ignore_errors=True)


def _quota_sequence(hosts):
    """What zkCli's `setquota -N 2 /q` does, then writes under /q; returns what was seen."""
    c = _started(KazooClient(hosts=hosts, timeout=10))
    seen = []
    try:
        c.create("/q", b"")
        c.create("/zookeeper/quota/q/zookeeper_limits",
                 b"count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2", makepath=True)
        c.create("/zookeeper/quota/q/zookeeper_stats", b"count=0,bytes=0")
        seen.append(c.get("/zookeeper/quota/q/zookeeper_stats")[0])
        c.create("/q/a", b"abc")
        seen.append(c.get("/zookeeper/quota/q/zookeeper_stats")[0])
        try:
            c.create("/q/b", b"")
            seen.append("created")
        except QuotaExceededError:
            seen.append("QuotaExceeded")
        c.delete("/q/a")
        seen.append(c.get("/zookeeper/quota/q/zookeeper_stats")[0])
        c.create("/q/b", b"")
        seen.append(c.get("/zookeeper/quota/q/zookeeper_stats")[1].version)
    finally:
        c.stop()
    return seen


def test_quota_stats_and_hard_limit_match_the_reference():
    s = Server("enforceQuota=true\n")
    try:
        warren = _quota_sequence(f"127.0.0.1:{s.port}")
    finally:
        s.stop()
    assert warren == [b"count=1,bytes=0", b"count=2,bytes=3", "QuotaExceeded",
                      b"count=1,bytes=0", 0]
    refzk = os.path.join(ROOT, "..", "shared", "refzk")
    if not os.path.exists(os.path.join(refzk, "start.sh")):
        pytest.skip("reference ZooKeeper scripts not available")
    d = tempfile.mkdtemp(prefix="refzk-quota-")
    try:
        port = _start_reference(refzk, d, "enforceQuota=true")
        assert _quota_sequence(f"127.0.0.1:{port}") == warren
    finally:
        subprocess.run(["bash", os.path.join(refzk, "stop.sh"), d])
        shutil.rmtree(d, ignore_errors=True)


def _start_reference(refzk, d, extra_cfg):
    """Runs refzk/start.sh with a deadline, retrying on a new port: its `nc -q1` readiness
    probe can hang when the JVM accepts before it serves. The script gets its own process
    group and writes to a file, so a stray nc holds no pipe of ours."""
    for attempt in range(3):
        port = _free_port()
        with open(os.path.join(d, f"start.{attempt}.out"), "w") as out:
            p = subprocess.Popen(["setsid", "bash", os.path.join(refzk, "start.sh"), d,
                                  str(port)], stdout=out, stderr=out,
                                 env=dict(os.environ, ZK_EXTRA_CFG=extra_cfg))
            try:
                if p.wait(timeout=60) == 0 and _ruok(port):
                    return port
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=30)
            subprocess.run(["bash", os.path.join(refzk, "stop.sh"), d])
    raise RuntimeError("reference ZooKeeper did not start; see " + d)
