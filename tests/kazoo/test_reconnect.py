"""kazoo with a data watch set before its connection drops: the case that hung aiozk.

kazoo 2.11 does not carry one-shot watches over a reconnect (it sends no setWatches): on
losing the connection it tells every watch so with a NONE event and forgets them, and
its DataWatch recipe sets its watch again once reconnected. The test checks exactly
that, in the same session, and that the re-set watch sees a change made after the
reconnect. Against Warren, and against the reference ZooKeeper where it is installed."""
import os
import sys
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.protocol.states import EventType, KazooState

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cutproxy import CutProxy  # noqa: E402
from servers import ReferenceServer, reference_available  # noqa: E402


@pytest.fixture(scope="module", params=["warren", "reference"])
def address(request):
    if request.param == "warren":
        yield request.getfixturevalue("warren")
        return
    if not reference_available():
        pytest.skip("the reference ZooKeeper is not installed")
    server = ReferenceServer()
    yield server.address
    server.close()


def test_a_data_watch_survives_a_dropped_connection(address):
    host, port = address.rsplit(":", 1)
    proxy = CutProxy(host, int(port))
    c = KazooClient(hosts=proxy.address, timeout=10)
    other = KazooClient(hosts=address, timeout=10)
    try:
        c.start(timeout=10)
        other.start(timeout=10)
        path = f"/kazoo-reconnect-{time.time_ns()}"
        c.create(path, b"v0")
        told = []
        told_once = threading.Event()

        def watch(ev):
            told.append((ev.type, ev.path))
            told_once.set()

        assert c.get(path, watch=watch)[0] == b"v0"
        seen = []
        changed = threading.Event()

        @c.DataWatch(path)
        def data_watch(data, stat):
            seen.append(data)
            if data == b"v1":
                changed.set()

        states = []
        reconnected = threading.Event()

        def listener(state):
            states.append(state)
            if state == KazooState.CONNECTED and KazooState.SUSPENDED in states:
                reconnected.set()

        c.add_listener(listener)
        session = c._session_id
        proxy.cut()
        assert reconnected.wait(30), f"kazoo did not reconnect: {states}"
        assert c._session_id == session, "the session survives a dropped connection"
        assert told_once.wait(10)
        assert told == [(EventType.NONE, None)], told
        other.set(path, b"v1")
        assert changed.wait(10), f"the DataWatch did not see the change: {seen}"
        assert seen[0] == b"v0" and seen[-1] == b"v1"
        assert told == [(EventType.NONE, None)], "the forgotten watch stays silent"
        assert c.get(path)[0] == b"v1"
        other.delete(path)
    finally:
        for k in (c, other):
            try:
                k.stop()
                k.close()
            except Exception:
                pass
        proxy.close()
