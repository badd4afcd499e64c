"""kazoo's own SASL and SSL tests, unchanged, against Warren.

kazoo's test harness (kazoo.testing.common.ManagedZooKeeper) starts ZooKeeper itself: it
writes a zoo.cfg (clientPort, secureClientPort, JKS key and trust stores it makes with
pyjks, admin.serverPort, authProvider.1=…SASLAuthenticationProvider, …) and a JAAS file,
then runs `java -cp … -Djava.security.auth.login.config=jaas.conf -D… QuorumPeerMain
zoo.cfg`. zookeeper-shim/java, first on PATH, turns that command into
`warren -D… --config zoo.cfg`, so the server gets exactly the files and system properties
ZooKeeper would. The harness is pointed at it with its own environment variables
(ZOOKEEPER_CLASSPATH, ZOOKEEPER_VERSION, ZOOKEEPER_CLUSTER_SIZE=1: Warren is standalone).

The tests run in the virtualenv scripts/install-test-deps makes (.venv-kazoo): kazoo's
test extras, pyjks and a pyOpenSSL that still has the X509Extension API the harness uses.
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zookeeper-shim")
VENV_PY = os.environ.get("KAZOO_VENV_PYTHON", os.path.join(ROOT, ".venv-kazoo", "bin", "python"))

SASL = [
    "test_sasl.py::TestLegacySASLDigestAuthentication::test_connect_sasl_auth",
    "test_sasl.py::TestLegacySASLDigestAuthentication::test_invalid_sasl_auth",
    "test_sasl.py::TestSASLDigestAuthentication::test_connect_sasl_auth",
    "test_sasl.py::TestSASLDigestAuthentication::test_invalid_sasl_auth",
]
# Kerberos: needs a KDC (KRB5_TEST_ENV) and the kerberos module; kazoo skips it without.
GSSAPI = [
    "test_sasl.py::TestSASLGSSAPIAuthentication::test_connect_gssapi_auth",
    "test_sasl.py::TestSASLGSSAPIAuthentication::test_invalid_gssapi_auth",
]
SSL = "test_client.py::TestSSLClient::test_create"


def _ports_free(base, count=5):
    for p in range(base, base + count):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def _port_offset():
    """kazoo's harness uses offset .. offset+4 (client, election, leader, admin, secure)."""
    for _ in range(50):
        base = random.randrange(30000, 39000, 10)
        if _ports_free(base):
            return base
    raise RuntimeError("no 5 free consecutive ports for kazoo's harness")


@pytest.fixture(scope="module")
def kazoo_run():
    """Runs the selected kazoo tests once; returns {test id: outcome} and the output."""
    if not os.path.exists(VENV_PY):
        pytest.fail(f"{VENV_PY} is missing: run scripts/install-test-deps")
    binary = os.path.abspath(
        os.environ.get("WARREN_BIN", os.path.join(ROOT, "target/release/warren"))
    )
    tests_dir = subprocess.run(
        [VENV_PY, "-c", "import kazoo.tests, os; print(os.path.dirname(kazoo.tests.__file__))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    work = tempfile.mkdtemp(prefix="warren-kazoo-own-")
    junit = os.path.join(work, "junit.xml")
    env = dict(
        os.environ,
        PATH=SHIM + os.pathsep + os.environ.get("PATH", ""),
        WARREN_BIN=binary,
        ZOOKEEPER_CLASSPATH="warren (through zookeeper-shim/java)",
        ZOOKEEPER_VERSION="3.8.0",
        ZOOKEEPER_CLUSTER_SIZE="1",
        ZOOKEEPER_PORT_OFFSET=str(_port_offset()),
        RUST_LOG="warn",
    )
    env.pop("ZOOKEEPER_PATH", None)
    nodes = [os.path.join(tests_dir, t) for t in SASL + GSSAPI + [SSL]]
    # Its own session, so that a run past its deadline is ended with the servers kazoo's
    # harness started.
    proc = subprocess.Popen(
        [VENV_PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore",
         f"--junitxml={junit}", "-o", "junit_logging=all", *nodes],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        text, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        text, _ = proc.communicate()
        pytest.fail("kazoo's tests did not finish within 240 s:\n" + text[-4000:])
    if not os.path.exists(junit):
        pytest.fail("kazoo's tests did not run:\n" + text[-4000:])
    outcomes = {}
    details = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname').split('.')[-1]}::{case.get('name')}"
        kind = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                kind = {"failure": "failed", "error": "failed", "skipped": "skipped"}[child.tag]
        outcomes[name] = kind
        details[name] = ET.tostring(case, encoding="unicode")
    sys.stdout.write(text[-3000:])
    return outcomes, details, text


def _outcome(run, test_id):
    outcomes, _, text = run
    key = test_id.split(".py::", 1)[1]
    assert key in outcomes, f"{key} did not run; kazoo's output:\n{text[-4000:]}"
    return outcomes[key]


@pytest.mark.parametrize("test_id", SASL)
def test_kazoo_own_sasl_digest_test_passes(kazoo_run, test_id):
    """The server's SASL users come from the JAAS file named by
    -Djava.security.auth.login.config, as kazoo's harness gives it."""
    assert _outcome(kazoo_run, test_id) == "passed", kazoo_run[1].get(
        test_id.split(".py::", 1)[1], kazoo_run[2][-4000:]
    )


@pytest.mark.parametrize("test_id", GSSAPI)
def test_kazoo_own_gssapi_test_is_skipped_by_kazoo_without_a_kdc(kazoo_run, test_id):
    assert _outcome(kazoo_run, test_id) == "skipped"


def test_kazoo_own_ssl_test(kazoo_run):
    """kazoo's SSL test over the secure port, from the JKS stores its harness writes.

    Both certificates the harness makes are X.509 v1 (its CA is v3): Warren serves the
    v1 server certificate as Java does, and verifies the v1 client certificate against
    the trust store's CA itself, since webpki reads only v3 (server/src/client_cert.rs).
    """
    outcome = _outcome(kazoo_run, SSL)
    detail = kazoo_run[1][SSL.split(".py::", 1)[1]]
    assert not re.search(r"secure client port \d+ disabled", detail), (
        "the secure port did not start from kazoo's JKS stores:\n" + detail[-4000:]
    )
    assert outcome == "passed", "kazoo's SSL test failed:\n" + detail[-4000:]
