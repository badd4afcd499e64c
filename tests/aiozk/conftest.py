"""Real servers for the aiozk tests: Warren, and the reference ZooKeeper for the cases
that compare the two. aiozk is asyncio-only; each test runs its coroutine with
asyncio.run (no pytest plugin needed)."""
import asyncio
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from servers import ReferenceServer, WarrenServer, reference_available  # noqa: E402


@pytest.fixture(scope="module")
def warren():
    server = WarrenServer()
    yield server
    server.close()


@pytest.fixture(scope="module", params=["warren", "reference"])
def any_server(request):
    """Warren, then the reference ZooKeeper (skipped where it is not installed)."""
    if request.param == "reference":
        if not reference_available():
            pytest.skip("the reference ZooKeeper is not installed")
        server = ReferenceServer()
    else:
        server = WarrenServer()
    yield server
    server.close()


def run(coro, timeout=60):
    """Runs one test's coroutine, failing it (not hanging) past `timeout` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="module")
def ensemble():
    from servers import WarrenEnsemble

    e = WarrenEnsemble(3)
    yield e
    e.close()
