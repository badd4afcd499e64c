// Apache Curator 5.4 (Debian's libcurator-*-java, on Debian's ZooKeeper 3.8 jars)
// against a server: InterProcessMutex, LeaderLatch, CuratorCache and
// DistributedAtomicLong. It prints one line per result, with nothing that differs from
// run to run, so a test can compare what Warren and the reference ZooKeeper tell it.
//
// usage: java -cp ... CuratorCheck HOST:PORT BASE_PATH
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;

public class CuratorCheck {
    static CuratorFramework client(String hosts) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 10000, 10000,
                new ExponentialBackoffRetry(100, 5));
        c.start();
        if (!c.blockUntilConnected(20, TimeUnit.SECONDS)) throw new IllegalStateException("no connection");
        return c;
    }

    /** Three holders in two sessions: never two inside at once. */
    static void mutex(CuratorFramework a, CuratorFramework b, String base) throws Exception {
        AtomicInteger inside = new AtomicInteger(), most = new AtomicInteger(), entered = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> done = new ArrayList<>();
        for (CuratorFramework c : new CuratorFramework[] {a, b, a}) {
            done.add(pool.submit(() -> {
                InterProcessMutex m = new InterProcessMutex(c, base + "/mutex");
                for (int i = 0; i < 3; i++) {
                    if (!m.acquire(20, TimeUnit.SECONDS)) throw new IllegalStateException("no lock");
                    try {
                        int now = inside.incrementAndGet();
                        most.accumulateAndGet(now, Math::max);
                        entered.incrementAndGet();
                        Thread.sleep(20);
                        inside.decrementAndGet();
                    } finally {
                        m.release();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) f.get(60, TimeUnit.SECONDS);
        pool.shutdown();
        System.out.println("mutex: entered=" + entered.get() + " most inside at once=" + most.get());
        System.out.println("mutex: lock nodes left=" + a.getChildren().forPath(base + "/mutex").size());
    }

    /** Two latches: one leader; when it closes, the other leads. */
    static void leaderLatch(CuratorFramework a, CuratorFramework b, String base) throws Exception {
        LeaderLatch la = new LeaderLatch(a, base + "/leader", "a");
        LeaderLatch lb = new LeaderLatch(b, base + "/leader", "b");
        la.start();
        la.await(20, TimeUnit.SECONDS);
        lb.start();
        Thread.sleep(300);
        System.out.println("leader latch: a leads=" + la.hasLeadership() + " b leads=" + lb.hasLeadership());
        System.out.println("leader latch: participants=" + lb.getParticipants().size()
                + " leader=" + lb.getLeader().getId());
        la.close();
        boolean took = lb.await(20, TimeUnit.SECONDS);
        System.out.println("leader latch: after a closes, b leads=" + took);
        lb.close();
    }

    /** A cache of a subtree tells of creates, changes and deletes made by another session. */
    static void cache(CuratorFramework a, CuratorFramework b, String base) throws Exception {
        String root = base + "/cache";
        a.create().forPath(root, "r".getBytes());
        LinkedBlockingQueue<String> told = new LinkedBlockingQueue<>();
        CountDownLatch ready = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(a, root);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(n -> told.add("created " + n.getPath().substring(base.length()) + " " + new String(n.getData())))
                .forChanges((o, n) -> told.add("changed " + n.getPath().substring(base.length()) + " " + new String(n.getData())))
                .forDeletes(o -> told.add("deleted " + o.getPath().substring(base.length())))
                .forInitialized(ready::countDown)
                .build());
        cache.start();
        ready.await(20, TimeUnit.SECONDS);
        System.out.println("cache: " + told.poll(10, TimeUnit.SECONDS));
        b.create().forPath(root + "/x", "1".getBytes());
        System.out.println("cache: " + told.poll(10, TimeUnit.SECONDS));
        b.setData().forPath(root + "/x", "2".getBytes());
        System.out.println("cache: " + told.poll(10, TimeUnit.SECONDS));
        b.create().creatingParentsIfNeeded().forPath(root + "/y/z", "3".getBytes());
        List<String> two = new ArrayList<>();
        two.add(told.poll(10, TimeUnit.SECONDS));
        two.add(told.poll(10, TimeUnit.SECONDS));
        Collections.sort(two);
        System.out.println("cache: " + two);
        b.delete().forPath(root + "/x");
        System.out.println("cache: " + told.poll(10, TimeUnit.SECONDS));
        System.out.println("cache: size=" + cache.size() + " z=" + new String(cache.get(root + "/y/z").get().getData()));
        cache.close();
    }

    /** Two sessions increment one counter 20 times each, concurrently: it reads 40. */
    static void atomicLong(CuratorFramework a, CuratorFramework b, String base) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        AtomicInteger failed = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        for (CuratorFramework c : new CuratorFramework[] {a, b}) {
            done.add(pool.submit(() -> {
                DistributedAtomicLong n = new DistributedAtomicLong(c, base + "/counter", new RetryNTimes(100, 10));
                for (int i = 0; i < 20; i++) {
                    AtomicValue<Long> v = n.increment();
                    if (!v.succeeded()) failed.incrementAndGet();
                }
                return null;
            }));
        }
        for (Future<?> f : done) f.get(60, TimeUnit.SECONDS);
        pool.shutdown();
        DistributedAtomicLong n = new DistributedAtomicLong(a, base + "/counter", new RetryNTimes(10, 10));
        System.out.println("atomic long: value=" + n.get().postValue() + " failed increments=" + failed.get());
        AtomicValue<Long> cas = n.compareAndSet(40L, 100L);
        AtomicValue<Long> stale = n.compareAndSet(40L, 7L);
        System.out.println("atomic long: cas 40->100 " + cas.succeeded() + ", stale cas " + stale.succeeded()
                + ", value=" + n.get().postValue());
    }

    public static void main(String[] args) throws Exception {
        String hosts = args[0], base = args[1];
        CuratorFramework a = client(hosts), b = client(hosts);
        a.create().forPath(base);
        mutex(a, b, base);
        leaderLatch(a, b, base);
        cache(a, b, base);
        atomicLong(a, b, base);
        a.delete().deletingChildrenIfNeeded().forPath(base);
        System.out.println("cleanup: base exists=" + (a.checkExists().forPath(base) != null));
        b.close();
        a.close();
    }
}
