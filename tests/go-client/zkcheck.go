// zkcheck: the Go ZooKeeper client github.com/samuel/go-zookeeper/zk (Debian's
// golang-github-samuel-go-zookeeper-dev) against one server or ensemble: sessions,
// ephemerals, sequential nodes, data/child/exists watches that fire once, multi (one
// that commits, one whose failing check fails it whole), errors, and the library's own
// lock recipe (zk.Lock: ephemeral sequential nodes, each waiter watching the node before
// its own). It prints one line per check, "name: result", with nothing that differs
// from run to run (no session ids, zxids, times), so scripts/compat can compare what
// Warren and the reference ZooKeeper tell it line by line.
//
// With PROXY and CONTROL (tests/compat.py's {proxy} and {control}) it also keeps watches
// across a cut connection: a session through the proxy sets a data, an exists and a
// child watch; the proxy cuts it and refuses it while another session changes all three
// nodes; once let back in, the client resumes its session and sends setWatches with its
// last zxid, and each watch must fire at once, once. Then a session is kept out for longer
// than its timeout: the server expires it (its ephemeral goes, another session's watch on
// it fires) and the client, let back in, is told the session expired.
//
// usage: zkcheck HOST:PORT[,HOST:PORT...] BASE_PATH [PROXY CONTROL]   (BASE_PATH must not exist)
// Exit status 0 when every step ran (the printed results say whether they were right).
package main

import (
	"fmt"
	"io/ioutil"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/samuel/go-zookeeper/zk"
)

var acl = zk.WorldACL(zk.PermAll)

// How long a watch is given to fire, and how long to wait for a second event that
// must not come.
const fireWithin = 10 * time.Second
const quietFor = 700 * time.Millisecond

func check(name string, format string, args ...interface{}) {
	fmt.Printf("%s: %s\n", name, fmt.Sprintf(format, args...))
}

func fail(name string, err error) {
	fmt.Printf("%s: FAILED %v\n", name, err)
	os.Exit(1)
}

// errName gives ZooKeeper's name for an error the library returns.
func errName(err error) string {
	names := map[error]string{
		nil:                           "ok",
		zk.ErrNoNode:                  "NONODE",
		zk.ErrNodeExists:              "NODEEXISTS",
		zk.ErrBadVersion:              "BADVERSION",
		zk.ErrNotEmpty:                "NOTEMPTY",
		zk.ErrNoChildrenForEphemerals: "NOCHILDRENFOREPHEMERALS",
		zk.ErrNoAuth:                  "NOAUTH",
		zk.ErrInvalidACL:              "INVALIDACL",
		zk.ErrAPIError:                "APIERROR",
		zk.ErrSessionExpired:          "SESSIONEXPIRED",
		zk.ErrSessionMoved:            "SESSIONMOVED",
		// The library maps codes it does not know (such as -2, RUNTIMEINCONSISTENCY,
		// which a failed multi gives the operations after the failing one) to this.
		zk.ErrUnknown: "UNKNOWN",
	}
	if n, ok := names[err]; ok {
		return n
	}
	return "other(" + err.Error() + ")"
}

func connect(addr string) *zk.Conn {
	c, events, err := zk.Connect(strings.Split(addr, ","), 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		fail("connect", err)
	}
	c.SetLogger(log.New(ioutil.Discard, "", 0))
	deadline := time.After(fireWithin)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			fail("connect", fmt.Errorf("no session within %v", fireWithin))
		}
	}
}

// waitEvent waits for one event on a watch channel, then for a second that must not come.
func waitEvent(ch <-chan zk.Event, base string) string {
	select {
	case ev := <-ch:
		got := fmt.Sprintf("%s %s", ev.Type, rel(ev.Path, base))
		select {
		case ev2, ok := <-ch:
			if ok {
				got += fmt.Sprintf(" then again %s", ev2.Type)
			}
		case <-time.After(quietFor):
		}
		return got
	case <-time.After(fireWithin):
		return "did not fire"
	}
}

// rel gives a path relative to the base path ("(base)" for the base itself).
func rel(p, base string) string {
	if p == base {
		return "(base)"
	}
	return strings.TrimPrefix(p, base)
}

func main() {
	if len(os.Args) != 3 && len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: zkcheck HOST:PORT[,HOST:PORT...] BASE_PATH [PROXY CONTROL]")
		os.Exit(2)
	}
	addr, base := os.Args[1], os.Args[2]

	// Sessions.
	c1 := connect(addr)
	defer c1.Close()
	check("session 1", "connected, state %s, has an id: %v", c1.State(), c1.SessionID() != 0)
	c2 := connect(addr)
	check("session 2", "connected, other id: %v", c2.SessionID() != c1.SessionID())

	// Plain nodes and errors.
	p, err := c1.Create(base, []byte("v0"), 0, acl)
	check("create base", "%s %s", errName(err), rel(p, base))
	_, err = c1.Create(base, nil, 0, acl)
	check("create base again", "%s", errName(err))
	_, _, err = c1.Get(base + "/missing")
	check("get missing", "%s", errName(err))
	_, err = c1.Set(base, []byte("x"), 5)
	check("set with a wrong version", "%s", errName(err))
	_, err = c1.Create(base+"/no/parent", nil, 0, acl)
	check("create without parent", "%s", errName(err))
	data, st, err := c1.Get(base)
	check("get base", "%s %q version=%d numChildren=%d", errName(err), data, st.Version, st.NumChildren)

	// Ephemerals: owned by their session, gone when it closes; an exists watch fires.
	p, err = c2.Create(base+"/eph", []byte("e"), zk.FlagEphemeral, acl)
	check("create ephemeral (session 2)", "%s %s", errName(err), rel(p, base))
	_, err = c2.Create(base+"/eph/child", nil, 0, acl)
	check("child of an ephemeral", "%s", errName(err))
	if _, err = c1.Sync(base); err != nil {
		fail("sync", err)
	}
	ok, st, ch, err := c1.ExistsW(base + "/eph")
	check("exists ephemeral (session 1)", "%s %v owner is session 2: %v", errName(err), ok, st.EphemeralOwner == c2.SessionID())
	c2.Close()
	check("ephemeral watch after session 2 closed", "%s", waitEvent(ch, base))
	ok, _, err = c1.Exists(base + "/eph")
	check("ephemeral after its session closed", "%s exists=%v", errName(err), ok)

	// Sequential nodes: the counter is the parent's, ten digits.
	for i := 0; i < 3; i++ {
		p, err = c1.Create(base+"/seq-", []byte{}, zk.FlagSequence, acl)
		check(fmt.Sprintf("create sequential %d", i), "%s %s", errName(err), rel(p, base))
	}
	p, err = c1.Create(base+"/eseq-", []byte{}, zk.FlagSequence|zk.FlagEphemeral, acl)
	check("create ephemeral sequential", "%s %s", errName(err), rel(p, base))
	kids, _, err := c1.Children(base)
	sort.Strings(kids)
	check("children", "%s %v", errName(err), kids)

	// A data watch fires once: two changes from another session, one event.
	c3 := connect(addr)
	defer c3.Close()
	_, _, ch, err = c1.GetW(base)
	check("getW base", "%s", errName(err))
	if _, err = c3.Set(base, []byte("v1"), -1); err != nil {
		fail("set", err)
	}
	ev := waitEventFirst(ch, base)
	_, err = c3.Set(base, []byte("v2"), -1)
	check("data watch", "%s; second set %s", ev, errName(err))
	check("data watch after the second set", "%s", waitQuiet(ch))
	if _, err = c1.Sync(base); err != nil {
		fail("sync", err)
	}
	data, st, err = c1.Get(base)
	check("get base after sets", "%s %q version=%d", errName(err), data, st.Version)

	// A child watch fires once.
	_, _, ch, err = c1.ChildrenW(base)
	check("childrenW base", "%s", errName(err))
	_, err = c3.Create(base+"/child-a", nil, 0, acl)
	ev = waitEventFirst(ch, base)
	_, err2 := c3.Create(base+"/child-b", nil, 0, acl)
	check("child watch", "%s (create %s); second create %s", ev, errName(err), errName(err2))
	check("child watch after the second create", "%s", waitQuiet(ch))

	// A data watch on a node that is deleted; an exists watch on a missing node.
	_, _, ch, err = c1.GetW(base + "/child-a")
	check("getW child-a", "%s", errName(err))
	err = c3.Delete(base+"/child-a", -1)
	check("delete child-a", "%s; watch %s", errName(err), waitEvent(ch, base))
	ok, _, ch, err = c1.ExistsW(base + "/later")
	check("existsW missing", "%s exists=%v", errName(err), ok)
	_, err = c3.Create(base+"/later", nil, 0, acl)
	check("create later", "%s; watch %s", errName(err), waitEvent(ch, base))

	// Multi: one that commits, one whose failing check fails it whole, one that fails on
	// an existing node.
	res, err := c1.Multi(
		&zk.CreateRequest{Path: base + "/m1", Data: []byte("a"), Acl: acl},
		&zk.SetDataRequest{Path: base + "/m1", Data: []byte("b"), Version: 0},
		&zk.CheckVersionRequest{Path: base + "/m1", Version: 1},
	)
	check("multi that commits", "%s %s", errName(err), multiResults(res, base))
	data, st, err = c1.Get(base + "/m1")
	check("node of the multi", "%s %q version=%d", errName(err), data, st.Version)
	res, err = c1.Multi(
		&zk.CreateRequest{Path: base + "/m2", Data: []byte("a"), Acl: acl},
		&zk.CheckVersionRequest{Path: base, Version: 99},
		&zk.SetDataRequest{Path: base + "/m1", Data: []byte("c"), Version: -1},
	)
	check("multi with a failing check", "%s %s", errName(err), multiResults(res, base))
	ok, _, err = c1.Exists(base + "/m2")
	check("node created by the failed multi", "%s exists=%v", errName(err), ok)
	data, st, err = c1.Get(base + "/m1")
	check("node set by the failed multi", "%s %q version=%d", errName(err), data, st.Version)
	res, err = c1.Multi(
		&zk.CreateRequest{Path: base + "/m3", Acl: acl},
		&zk.CreateRequest{Path: base + "/m1", Acl: acl},
	)
	check("multi creating an existing node", "%s %s", errName(err), multiResults(res, base))
	res, err = c1.Multi(
		&zk.DeleteRequest{Path: base + "/m1", Version: -1},
		&zk.CheckVersionRequest{Path: base + "/m1", Version: -1},
	)
	check("multi checking a node it deleted", "%s %s", errName(err), multiResults(res, base))

	// The stat of a node after creates, sets and deletes of its children.
	_, st, err = c1.Get(base)
	check("stat of base", "%s version=%d cversion=%d aversion=%d dataLength=%d numChildren=%d ephemeralOwner=%d mzxid>czxid:%v pzxid>mzxid:%v",
		errName(err), st.Version, st.Cversion, st.Aversion, st.DataLength, st.NumChildren,
		st.EphemeralOwner, st.Mzxid > st.Czxid, st.Pzxid > st.Mzxid)

	// ACLs: a digest-only node is refused to a session without the identity.
	if err = c1.AddAuth("digest", []byte("alice:secret")); err != nil {
		fail("addAuth", err)
	}
	p, err = c1.Create(base+"/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "secret"))
	check("create digest-only node", "%s %s", errName(err), rel(p, base))
	data, _, err = c1.Get(base + "/secret")
	check("get it with the identity", "%s %q", errName(err), data)
	if _, err = c3.Sync(base); err != nil {
		fail("sync", err)
	}
	_, _, err = c3.Get(base + "/secret")
	check("get it without", "%s", errName(err))
	_, err = c3.Set(base+"/secret", []byte("x"), -1)
	check("set it without", "%s", errName(err))
	acls, _, err := c1.GetACL(base + "/secret")
	check("getACL with the identity", "%s %v", errName(err), acls)
	_, err = c1.SetACL(base+"/secret", acl, 3)
	check("setACL with a wrong version", "%s", errName(err))
	_, err = c1.SetACL(base+"/secret", acl, 0)
	check("setACL", "%s", errName(err))
	if _, err = c3.Sync(base); err != nil {
		fail("sync", err)
	}
	data, _, err = c3.Get(base + "/secret")
	check("get it without, after setACL to world", "%s %q", errName(err), data)
	_, err = c1.Create(base+"/badacl", nil, 0, []zk.ACL{})
	check("create with an empty ACL", "%s", errName(err))

	res, err = c1.Multi()
	check("empty multi", "%s %d results", errName(err), len(res))
	// A sequential node named by its number alone (the path ends in "/").
	p, err = c1.Create(base+"/", nil, zk.FlagSequence, acl)
	check("sequential child with no prefix", "%s %s", errName(err), rel(p, base))

	// The library's lock recipe: zk.Lock, two sessions.
	lockPath := base + "/lock"
	l1 := zk.NewLock(c1, lockPath, acl)
	l2 := zk.NewLock(c3, lockPath, acl)
	check("lock A", "%s", errName(l1.Lock()))
	got := make(chan error, 1)
	go func() { got <- l2.Lock() }()
	select {
	case err = <-got:
		check("lock B while A holds it", "acquired too early (%s)", errName(err))
	case <-time.After(quietFor):
		check("lock B while A holds it", "waiting")
	}
	if _, err = c1.Sync(lockPath); err != nil {
		fail("sync", err)
	}
	kids, _, err = c1.Children(lockPath)
	check("lock contenders", "%s %d", errName(err), len(kids))
	check("unlock A", "%s", errName(l1.Unlock()))
	select {
	case err = <-got:
		check("lock B after A released", "%s", errName(err))
	case <-time.After(fireWithin):
		check("lock B after A released", "not acquired")
	}
	check("unlock B", "%s", errName(l2.Unlock()))
	kids, _, err = c3.Children(lockPath)
	check("lock contenders after both", "%s %d", errName(err), len(kids))

	if len(os.Args) == 5 {
		acrossACut(c3, base, os.Args[3], os.Args[4])
		expiry(c3, base, os.Args[3], os.Args[4])
	}

	// Clean up: a node with children is not deleted.
	err = c1.Delete(base, -1)
	check("delete base with children", "%s", errName(err))
	if _, err = c1.Sync(base); err != nil {
		fail("sync", err)
	}
	check("delete base, deepest first", "%s", errName(deleteTree(c1, base)))
	// Session 3 may be on another member of an ensemble: sync, then read.
	if _, err = c3.Sync(base); err != nil {
		fail("sync", err)
	}
	ok, _, err = c3.Exists(base)
	check("base after delete", "%s exists=%v", errName(err), ok)
}

// deleteTree deletes a node and everything under it, deepest first; the first error.
func deleteTree(c *zk.Conn, path string) error {
	kids, _, err := c.Children(path)
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err = deleteTree(c, path+"/"+k); err != nil {
			return err
		}
	}
	return c.Delete(path, -1)
}

// waitEventFirst waits only for the first event.
func waitEventFirst(ch <-chan zk.Event, base string) string {
	select {
	case ev := <-ch:
		return fmt.Sprintf("%s %s", ev.Type, rel(ev.Path, base))
	case <-time.After(fireWithin):
		return "did not fire"
	}
}

// waitQuiet says whether a spent watch channel stays silent (the library closes it after
// its one event).
func waitQuiet(ch <-chan zk.Event) string {
	select {
	case ev, ok := <-ch:
		if !ok {
			return "no further event (channel closed)"
		}
		return fmt.Sprintf("fired again: %s", ev.Type)
	case <-time.After(quietFor):
		return "no further event"
	}
}

func multiResults(res []zk.MultiResponse, base string) string {
	parts := []string{}
	for _, r := range res {
		s := errName(r.Error)
		if r.String != "" {
			s += " " + rel(r.String, base)
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// ask asks tests/compat.py to cut or release the proxy's connections, and waits until it has.
func ask(control, what string) {
	if err := ioutil.WriteFile(control+"/"+what, nil, 0o644); err != nil {
		fail("ask "+what, err)
	}
	deadline := time.Now().Add(fireWithin)
	for {
		if _, err := os.Stat(control + "/" + what + ".done"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			fail("ask "+what, fmt.Errorf("not done within %v", fireWithin))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// acrossACut: watches set through the proxy, the connection cut, the nodes changed by
// `other` while the client is kept out, then the client let back in.
func acrossACut(other *zk.Conn, base, proxy, control string) {
	if _, err := other.Create(base+"/rw", []byte("0"), 0, acl); err != nil {
		fail("create rw", err)
	}
	c, events, err := zk.Connect([]string{proxy}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		fail("connect through the proxy", err)
	}
	defer c.Close()
	c.SetLogger(log.New(ioutil.Discard, "", 0))
	waitState := func(want zk.State) bool {
		deadline := time.After(fireWithin)
		for {
			select {
			case ev := <-events:
				if ev.Type == zk.EventSession && ev.State == want {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	check("session through the proxy", "has session: %v", waitState(zk.StateHasSession))
	id := c.SessionID()
	_, _, dataW, err1 := c.GetW(base + "/rw")
	_, _, existsW, err2 := c.ExistsW(base + "/rw-new")
	_, _, childW, err3 := c.ChildrenW(base + "/rw")
	check("watches through the proxy", "getW %s, existsW %s, childrenW %s", errName(err1), errName(err2), errName(err3))
	ask(control, "cut")
	check("connection cut", "disconnected: %v", waitState(zk.StateDisconnected))
	_, err1 = other.Set(base+"/rw", []byte("1"), -1)
	_, err2 = other.Create(base+"/rw-new", nil, 0, acl)
	_, err3 = other.Create(base+"/rw/kid", nil, 0, acl)
	check("changes while cut off", "set %s, create %s, create child %s", errName(err1), errName(err2), errName(err3))
	ask(control, "release")
	check("session after the cut", "has session: %v, same id: %v", waitState(zk.StateHasSession), c.SessionID() == id)
	check("data watch across the cut", "%s", waitEvent(dataW, base))
	check("exists watch across the cut", "%s", waitEvent(existsW, base))
	// This library hands NodeDataChanged to the path's child watchers too (its recvLoop
	// maps that event to exist, data and child watches), so the child watch's channel
	// gets the data event: the library's doing, the same on every server.
	check("child watch across the cut", "%s", waitEvent(childW, base))
	data, st, err := c.Get(base + "/rw")
	check("get rw after the cut", "%s %q version=%d numChildren=%d", errName(err), data, st.Version, st.NumChildren)
}

// expiry: a 4 s session (the least tickTime=2000 allows) through the proxy is held off
// until the server expires it.
func expiry(other *zk.Conn, base, proxy, control string) {
	c, events, err := zk.Connect([]string{proxy}, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		fail("connect through the proxy", err)
	}
	defer c.Close()
	c.SetLogger(log.New(ioutil.Discard, "", 0))
	seen := make(chan zk.State, 64)
	go func() {
		for ev := range events {
			if ev.Type == zk.EventSession {
				seen <- ev.State
			}
		}
	}()
	waitState := func(want zk.State, within time.Duration) bool {
		deadline := time.After(within)
		for {
			select {
			case st := <-seen:
				if st == want {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	check("short session", "has session: %v", waitState(zk.StateHasSession, fireWithin))
	_, err = c.Create(base+"/exp-eph", nil, zk.FlagEphemeral, acl)
	check("its ephemeral", "%s", errName(err))
	if _, err = other.Sync(base); err != nil {
		fail("sync", err)
	}
	ok, _, ch, err := other.ExistsW(base + "/exp-eph")
	check("another session watches it", "%s exists=%v", errName(err), ok)
	ask(control, "cut")
	check("short session cut off", "disconnected: %v", waitState(zk.StateDisconnected, fireWithin))
	check("ephemeral of the expired session", "%s", waitEvent(ch, base))
	ask(control, "release")
	check("short session let back in", "expired: %v", waitState(zk.StateExpired, 3*fireWithin))
	ok, _, err = other.Exists(base + "/exp-eph")
	check("ephemeral after expiry", "%s exists=%v", errName(err), ok)
}
