"""aiozk 0.32 (the asyncio Python client) against a real Warren: sessions, ephemerals,
sequential nodes, data and child watches, a multi, aiozk's Lock and Barrier recipes,
and a data watch that must survive a dropped connection (the case that used to hang:
Warren answered aiozk's setWatches under xid -8 instead of the xid aiozk sent)."""
import asyncio
import os
import sys
import time
import uuid

import pytest
from aiozk import WatchEvent, ZKClient, exc
from aiozk.states import States

from conftest import run

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cutproxy import CutProxy  # noqa: E402

# The smallest session timeout Warren grants with tickTime=2000 (2 ticks). aiozk pings
# every third of it and notices a dead connection when a ping goes unanswered, so a
# short timeout makes the reconnect tests quick.
SESSION_TIMEOUT = 4


def unique(prefix="/aiozk"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def client(address, **kw):
    c = ZKClient(address, session_timeout=kw.pop("session_timeout", SESSION_TIMEOUT), **kw)
    await asyncio.wait_for(c.start(), 20)
    return c


def test_a_session_has_an_id_and_ends_on_close(warren):
    async def go():
        a = await client(warren.address)
        b = await client(warren.address)
        assert a.session.session_id and b.session.session_id
        assert a.session.session_id != b.session.session_id
        path = unique()
        await a.create(path, b"hello")
        assert await b.get_data(path) == b"hello"
        await a.close()
        assert a.session.state == States.LOST
        # The closed session's node outlives it (it is not ephemeral); a new session
        # of the same client works.
        assert await b.exists(path)
        await b.delete(path)
        await b.close()

    run(go())


def test_an_ephemeral_node_goes_with_its_session(warren):
    async def go():
        owner = await client(warren.address)
        watcher = await client(warren.address)
        path = unique()
        await owner.create(path, b"mine", ephemeral=True)
        gone = watcher.wait_for_events([WatchEvent.DELETED], path)
        assert await watcher.exists(path, watch=True)
        await owner.close()
        await asyncio.wait_for(gone, 10)
        assert not await watcher.exists(path)
        await watcher.close()

    run(go())


def test_sequential_nodes_count_up_under_their_parent(warren):
    async def go():
        c = await client(warren.address)
        parent = unique()
        await c.create(parent)
        made = [await c.create(f"{parent}/job-", b"x", sequential=True) for _ in range(3)]
        suffixes = [int(p.rsplit("-", 1)[1]) for p in made]
        assert [len(p.rsplit("-", 1)[1]) for p in made] == [10, 10, 10]
        assert suffixes == sorted(suffixes) and len(set(suffixes)) == 3
        assert sorted(await c.get_children(parent)) == sorted(p.rsplit("/", 1)[1] for p in made)
        await c.deleteall(parent)
        await c.close()

    run(go())


def test_a_data_watch_fires_once_on_a_change(warren):
    async def go():
        c = await client(warren.address)
        other = await client(warren.address)
        path = unique()
        await c.create(path, b"v0")
        changed = c.wait_for_events([WatchEvent.DATA_CHANGED], path)
        assert await c.get_data(path, watch=True) == b"v0"
        await other.set_data(path, b"v1")
        await asyncio.wait_for(changed, 10)
        assert await c.get_data(path) == b"v1"

        # aiozk's DataWatcher recipe re-arms the watch after each change.
        seen = asyncio.Queue()
        watcher = c.recipes.DataWatcher()
        watcher.add_callback(path, seen.put_nowait)
        assert await asyncio.wait_for(seen.get(), 10) == b"v1"
        await other.set_data(path, b"v2")
        assert await asyncio.wait_for(seen.get(), 10) == b"v2"
        await other.delete(path)
        assert await asyncio.wait_for(seen.get(), 10) is exc.NoNode
        await other.close()
        await c.close()

    run(go())


def test_a_child_watch_fires_when_a_child_comes_or_goes(warren):
    async def go():
        c = await client(warren.address)
        other = await client(warren.address)
        parent = unique()
        await c.create(parent)
        seen = asyncio.Queue()
        watcher = c.recipes.ChildrenWatcher()
        watcher.add_callback(parent, seen.put_nowait)
        assert await asyncio.wait_for(seen.get(), 10) == []
        await other.create(f"{parent}/a")
        assert await asyncio.wait_for(seen.get(), 10) == ["a"]
        await other.create(f"{parent}/b", ephemeral=True)
        assert sorted(await asyncio.wait_for(seen.get(), 10)) == ["a", "b"]
        await other.close()  # its ephemeral child goes
        assert await asyncio.wait_for(seen.get(), 10) == ["a"]
        watcher.remove_callback(parent, seen.put_nowait)
        await c.deleteall(parent)
        await c.close()

    run(go())


def test_a_multi_commits_all_or_nothing(warren):
    async def go():
        c = await client(warren.address)
        path = unique()
        async with c.begin_transaction() as t:
            t.create(path, b"a")
            t.create(f"{path}/kid", b"b")
            t.set_data(path, b"c")
        assert await c.get_data(path) == b"c"
        t = c.begin_transaction()
        t.check_version(path, 1)
        t.create(f"{path}/second", b"x")
        t.create(f"{path}/kid", b"exists already")
        result = await t.commit()
        assert not result
        assert not await c.exists(f"{path}/second")
        await c.deleteall(path)
        await c.close()

    run(go())


def test_the_lock_recipe_lets_one_holder_in_at_a_time(warren):
    async def go():
        a = await client(warren.address)
        b = await client(warren.address)
        base = unique("/aiozk-lock")
        holders, order = [], []

        async def hold(c, name):
            lock = c.recipes.Lock(base)
            async with lock:
                holders.append(name)
                assert len(holders) == 1, holders
                order.append(name)
                await asyncio.sleep(0.3)
                holders.remove(name)

        await asyncio.gather(hold(a, "a"), hold(b, "b"), hold(a, "a2"))
        assert sorted(order) == ["a", "a2", "b"]
        assert await a.get_children(base) == []
        await a.deleteall(base)
        await a.close()
        await b.close()

    run(go())


def test_the_barrier_recipe_holds_waiters_until_lifted(warren):
    async def go():
        a = await client(warren.address)
        b = await client(warren.address)
        path = unique("/aiozk-barrier")
        barrier = a.recipes.Barrier(path)
        await barrier.create()
        waiter = asyncio.create_task(b.recipes.Barrier(path).wait(timeout=20))
        await asyncio.sleep(0.5)
        assert not waiter.done()
        await barrier.lift()
        await asyncio.wait_for(waiter, 10)
        await a.close()
        await b.close()

    run(go())


async def wait_reconnected(c, old_conn, within=30):
    """Waits until the client has a new connection, in the same session, and is usable."""
    deadline = time.time() + within
    while c.session.conn is old_conn or c.session.state != States.CONNECTED:
        assert time.time() < deadline, "aiozk did not reconnect"
        await asyncio.sleep(0.05)


async def watch_survives_a_dropped_connection(address, drop):
    """A data watch set before the connection drops fires for a change made after the
    client reconnected (at the latest: aiozk sends setWatches with relativeZxid 0, so
    ZooKeeper fires it at once), and the client goes on working in its session."""
    host, port = address.rsplit(":", 1)
    proxy = CutProxy(host, int(port))
    try:
        c = await client(proxy.address)
        other = await client(address)
        path = unique()
        await c.create(path, b"v0")
        fired = c.wait_for_events([WatchEvent.DATA_CHANGED], path)
        assert await c.get_data(path, watch=True) == b"v0"
        session = c.session.session_id
        old = c.session.conn
        await drop(proxy)
        await wait_reconnected(c, old)
        await other.set_data(path, b"v1")
        await asyncio.wait_for(asyncio.shield(fired), 10)
        assert await asyncio.wait_for(c.get_data(path), 10) == b"v1"
        assert c.session.session_id == session
        await other.delete(path)
        await other.close()
        await asyncio.wait_for(c.close(), 10)
    finally:
        proxy.close()


def test_a_data_watch_survives_a_dropped_connection(any_server):
    async def cut(proxy):
        proxy.cut()

    run(watch_survives_a_dropped_connection(any_server.address, cut))


def test_a_data_watch_survives_a_server_restart(warren):
    """Warren restarted on the same data dir keeps the session (it is in the log), so the
    client reconnects into it and sets its watches again."""

    async def restart(proxy):
        await asyncio.get_running_loop().run_in_executor(None, warren.restart)
        proxy.cut()

    run(watch_survives_a_dropped_connection(warren.address, restart))


def test_a_data_watch_moves_with_its_session_to_another_member(ensemble):
    """Three members in the connect string; the member the client is on is killed. The
    client reconnects to another member in the same session and sets its watch there
    again; it fires for a change made afterwards (at the latest), and the client's
    ephemeral node lives on."""

    async def go():
        c = await client(ensemble.address, session_timeout=10)
        path, eph = unique(), unique()
        await c.create(path, b"v0")
        await c.create(eph, b"e", ephemeral=True)
        fired = c.wait_for_events([WatchEvent.DATA_CHANGED], path)
        assert await c.get_data(path, watch=True) == b"v0"
        session, old = c.session.session_id, c.session.conn
        ensemble.kill(old.port)
        other_members = ",".join(
            f"127.0.0.1:{m['port']}" for m in ensemble.members if m["proc"]
        )
        other = await client(other_members, session_timeout=10)
        await wait_reconnected(c, old, within=60)
        assert c.session.session_id == session
        assert c.session.conn.port != old.port
        await other.set_data(path, b"v1")
        await asyncio.wait_for(asyncio.shield(fired), 10)
        assert await asyncio.wait_for(c.get_data(path), 10) == b"v1"
        assert await other.exists(eph), "the ephemeral outlives its member"
        await other.delete(path)
        await other.close()
        await asyncio.wait_for(c.close(), 10)

    run(go(), timeout=120)
