"""kazoo's recipes against Warren, each asserting the recipe's real guarantee."""
import threading
import time
import uuid



def _path(name):
    return f"/{name}-{uuid.uuid4().hex[:8]}"


def test_lock_is_mutually_exclusive(client_factory):
    path = _path("lock")
    holders = []
    overlaps = []
    active = [0]
    guard = threading.Lock()

    def worker(i):
        c = client_factory()
        lock = c.Lock(path, f"w{i}")
        for _ in range(5):
            assert lock.acquire(timeout=20)
            with guard:
                active[0] += 1
                if active[0] > 1:
                    overlaps.append(i)
            holders.append(i)
            time.sleep(0.005)
            with guard:
                active[0] -= 1
            lock.release()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts)
    assert overlaps == []
    assert sorted(set(holders)) == [0, 1, 2] and len(holders) == 15


def test_lock_contender_waits_until_release(client_factory):
    path = _path("lock2")
    a, b = client_factory(), client_factory()
    la, lb = a.Lock(path, "a"), b.Lock(path, "b")
    assert la.acquire(timeout=10)
    assert not lb.acquire(blocking=False)
    assert set(lb.contenders()) >= {"a"}
    la.release()
    assert lb.acquire(timeout=10)
    lb.release()


def test_election_has_one_leader_and_fails_over(client_factory):
    path = _path("elect")
    leaders = []
    events = {}
    stop = {}

    def run(name):
        c = client_factory()
        e = c.Election(path, name)

        def lead():
            leaders.append(name)
            events[name].set()
            stop[name].wait(20)

        e.run(lead)

    for n in ("x", "y"):
        events[n] = threading.Event()
        stop[n] = threading.Event()
    tx = threading.Thread(target=run, args=("x",))
    tx.start()
    assert events["x"].wait(10)
    ty = threading.Thread(target=run, args=("y",))
    ty.start()
    time.sleep(0.5)
    assert leaders == ["x"]
    stop["x"].set()
    assert events["y"].wait(10)
    assert leaders == ["x", "y"]
    stop["y"].set()
    tx.join(10)
    ty.join(10)


def test_barrier_blocks_until_removed(client_factory):
    path = _path("barrier")
    a, b = client_factory(), client_factory()
    a.Barrier(path).create()
    passed = threading.Event()

    def waiter():
        if b.Barrier(path).wait(timeout=15):
            passed.set()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.5)
    assert not passed.is_set()
    a.Barrier(path).remove()
    t.join(15)
    assert passed.is_set()


def test_double_barrier_enters_together_and_leaves_together(client_factory):
    path = _path("dbarrier")
    n = 3
    entered = []
    left = []
    lock = threading.Lock()

    def member(i):
        c = client_factory()
        db = c.DoubleBarrier(path, n)
        db.enter()
        with lock:
            entered.append((i, time.time()))
        time.sleep(0.1 * i)
        db.leave()
        with lock:
            left.append((i, time.time()))

    ts = [threading.Thread(target=member, args=(i,)) for i in range(n)]
    for i, t in enumerate(ts):
        t.start()
        time.sleep(0.3)
        if i < n - 1:
            assert len(entered) == 0, "entered before all members arrived"
    for t in ts:
        t.join(30)
    assert len(entered) == n and len(left) == n
    # Nobody leaves before the last member is done with its work (entered + 0.1*i).
    last_enter = max(t for _, t in entered)
    assert min(t for _, t in left) >= last_enter


def test_queue_is_fifo(client_factory):
    path = _path("queue")
    p, q = client_factory(), client_factory()
    producer = p.Queue(path)
    for i in range(20):
        producer.put(f"item-{i}".encode())
    consumer = q.Queue(path)
    got = [consumer.get() for _ in range(20)]
    assert got == [f"item-{i}".encode() for i in range(20)]
    assert consumer.get() is None
    # LockingQueue: lower priority value first, FIFO within a priority.
    lq = q.LockingQueue(path + "-l")
    lq.put(b"two", priority=5)
    lq.put(b"one-a", priority=1)
    lq.put(b"one-b", priority=1)
    order = []
    for _ in range(3):
        order.append(lq.get(timeout=5))
        assert lq.consume()
    assert order == [b"one-a", b"one-b", b"two"]


def test_party_membership_follows_sessions(client_factory):
    path = _path("party")
    a, b, obs = client_factory(), client_factory(), client_factory()
    pa, pb = a.Party(path, "alice"), b.Party(path, "bob")
    pa.join()
    pb.join()
    assert sorted(obs.Party(path)) == ["alice", "bob"]
    assert len(obs.Party(path)) == 2
    b.stop()
    b.close()
    deadline = time.time() + 10
    while sorted(obs.Party(path)) != ["alice"]:
        assert time.time() < deadline, "member of a closed session still listed"
        time.sleep(0.1)
    pa.leave()
    assert list(obs.Party(path)) == []


def test_counter_concurrent_increments_are_exact(client_factory):
    path = _path("counter")
    per, workers = 25, 4

    def worker():
        c = client_factory()
        ctr = c.Counter(path)
        for _ in range(per):
            ctr += 1

    ts = [threading.Thread(target=worker) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    c = client_factory()
    assert c.Counter(path).value == per * workers
    ctr = c.Counter(path)
    ctr -= 10
    assert ctr.value == per * workers - 10
