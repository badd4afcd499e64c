// zkcheck.js: the pure-JavaScript client node-zookeeper-client against one server or
// ensemble: sessions, ephemerals, sequential nodes, data/child/exists watches that fire
// once, multi (transaction(): one that commits, one whose failing check fails it whole),
// errors, and two recipes built on ephemeral sequential nodes (a lock whose waiter
// watches the node before its own, and a leader election that moves when the leader's
// session closes). It prints one line per check, "name: result", with nothing that
// differs from run to run (no session ids, zxids, times), so scripts/compat can compare
// what Warren and the reference ZooKeeper tell it line by line.
//
// The library has no sync(), so every read that must see another session's write is
// made after an event about that write reached the reading session (its server has then
// applied it), or by the writing session itself: the scenario holds on an ensemble too.
//
// With PROXY and CONTROL (tests/compat.py's {proxy} and {control}) it also keeps watches
// across a cut connection: a session through the proxy sets a data, an exists and a
// child watch; the proxy cuts it and keeps it out while another session changes all
// three nodes; let back in, the client resumes its session and sends setWatches with its
// last zxid, and each watch must fire at once, once.
//
// usage: node zkcheck.js HOST:PORT[,HOST:PORT...] BASE_PATH [PROXY CONTROL]
'use strict';

const zookeeper = require('node-zookeeper-client');

const { CreateMode, Exception, Event } = zookeeper;
const FIRE_WITHIN = 10000;
const QUIET_FOR = 700;

const fs = require('fs');

const [addr, base, proxy, control] = process.argv.slice(2);
if (!addr || !base) {
    console.error('usage: node zkcheck.js HOST:PORT[,HOST:PORT...] BASE_PATH');
    process.exit(2);
}

function check(name, result) {
    console.log(`${name}: ${result}`);
}

function rel(p) {
    return p === base ? '(base)' : p.startsWith(base) ? p.slice(base.length) : p;
}

// ZooKeeper's name for an error (the library's Exception names, e.g. NO_NODE).
function errName(err) {
    if (!err) return 'ok';
    if (err instanceof Exception) return err.getName();
    return `other(${err.message || err})`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connect(to = addr, sessionTimeout = 10000) {
    return new Promise((resolve, reject) => {
        const c = zookeeper.createClient(to, { sessionTimeout, retries: 3 });
        const t = setTimeout(() => reject(new Error('no session within 10 s')), FIRE_WITHIN);
        c.once('connected', () => {
            clearTimeout(t);
            resolve(c);
        });
        c.connect();
    });
}

// Each call gives [error, result...] instead of throwing, so errors can be printed.
function call(c, method, ...args) {
    return new Promise((resolve) => {
        c[method](...args, (err, ...rest) => resolve([err, ...rest]));
    });
}

// A one-shot watcher that records every event it is given; `first()` waits for the
// first, `quiet()` then says whether any other came.
function watcher() {
    const events = [];
    let wake = null;
    const fn = (ev) => {
        events.push(ev);
        if (wake) wake();
    };
    fn.first = async () => {
        if (!events.length) {
            await new Promise((r) => {
                wake = r;
                setTimeout(r, FIRE_WITHIN);
            });
        }
        if (!events.length) return 'did not fire';
        return `${events[0].getName()} ${rel(events[0].getPath())}`;
    };
    fn.quiet = async () => {
        await sleep(QUIET_FOR);
        return events.length <= 1 ? 'no further event'
            : `fired again: ${events.slice(1).map((e) => e.getName()).join(', ')}`;
    };
    return fn;
}

function multiResults(results) {
    if (!results) return '(no results)';
    return '[' + results.map((r) => {
        if (r.type === -1) return r.err === 0 ? 'ok' : Exception.create(r.err).getName();
        const op = { 1: 'create', 2: 'delete', 5: 'setData', 13: 'check' }[r.type] || `type ${r.type}`;
        return r.path ? `${op} ${rel(r.path)}` : op;
    }).join(', ') + ']';
}

async function main() {
    const acl = zookeeper.ACL.OPEN_ACL_UNSAFE;
    // Sessions.
    const c1 = await connect();
    check('session 1', `connected, timeout ${c1.getSessionTimeout()} ms`);
    const c2 = await connect();
    check('session 2', `connected, other id: ${!c1.getSessionId().equals(c2.getSessionId())}`);
    const c3 = await connect();
    // The server bounds the timeout to [2, 20] ticks (tickTime=2000 on every server here).
    for (const asked of [1000, 100000]) {
        const c = await connect(addr, asked);
        check(`session asking ${asked} ms`, `negotiated ${c.getSessionTimeout()} ms`);
        c.close();
    }

    // Plain nodes and errors.
    let [err, p] = await call(c1, 'create', base, Buffer.from('v0'), acl, CreateMode.PERSISTENT);
    check('create base', `${errName(err)} ${p && rel(p)}`);
    [err] = await call(c1, 'create', base, null, acl, CreateMode.PERSISTENT);
    check('create base again', errName(err));
    [err] = await call(c1, 'getData', base + '/missing');
    check('get missing', errName(err));
    [err] = await call(c1, 'setData', base, Buffer.from('x'), 5);
    check('set with a wrong version', errName(err));
    [err] = await call(c1, 'remove', base, 7);
    check('delete with a wrong version', errName(err));
    [err] = await call(c1, 'create', base + '/no/parent', null, acl, CreateMode.PERSISTENT);
    check('create without parent', errName(err));
    let data, st;
    [err, data, st] = await call(c1, 'getData', base);
    check('get base', `${errName(err)} ${data} version=${st.version} numChildren=${st.numChildren}`);

    // Ephemerals. Session 1 watches for the node before session 2 creates it, and again
    // once it exists; session 2's close deletes it.
    let w = watcher();
    let exists;
    [err, exists] = await call(c1, 'exists', base + '/eph', w);
    check('existsW ephemeral before it exists', `${errName(err)} ${!!exists}`);
    [err, p] = await call(c2, 'create', base + '/eph', Buffer.from('e'), acl, CreateMode.EPHEMERAL);
    check('create ephemeral (session 2)', `${errName(err)} ${p && rel(p)}; watch ${await w.first()}`);
    [err] = await call(c2, 'create', base + '/eph/child', null, acl, CreateMode.PERSISTENT);
    check('child of an ephemeral', errName(err));
    w = watcher();
    [err, st] = await call(c1, 'exists', base + '/eph', w);
    check('exists ephemeral (session 1)',
        `${errName(err)} ${!!st} owner is session 2: ${!!st && st.ephemeralOwner.equals(c2.getSessionId())}`);
    c2.close();
    check('ephemeral watch after session 2 closed', `${await w.first()}; ${await w.quiet()}`);
    [err, st] = await call(c1, 'exists', base + '/eph');
    check('ephemeral after its session closed', `${errName(err)} exists=${!!st}`);

    // Sequential nodes: the counter is the parent's, ten digits.
    for (let i = 0; i < 3; i++) {
        [err, p] = await call(c1, 'create', base + '/seq-', null, acl, CreateMode.PERSISTENT_SEQUENTIAL);
        check(`create sequential ${i}`, `${errName(err)} ${p && rel(p)}`);
    }
    [err, p] = await call(c1, 'create', base + '/eseq-', null, acl, CreateMode.EPHEMERAL_SEQUENTIAL);
    check('create ephemeral sequential', `${errName(err)} ${p && rel(p)}`);
    let kids;
    [err, kids] = await call(c1, 'getChildren', base);
    check('children', `${errName(err)} ${kids.sort().join(' ')}`);

    // A data watch fires once: two changes from another session, one event.
    w = watcher();
    [err] = await call(c1, 'getData', base, w);
    check('getW base', errName(err));
    [err] = await call(c3, 'setData', base, Buffer.from('v1'), -1);
    const ev = await w.first();
    let [err2] = await call(c3, 'setData', base, Buffer.from('v2'), -1);
    check('data watch', `${ev} (set ${errName(err)}); second set ${errName(err2)}`);
    check('data watch after the second set', await w.quiet());
    [err, data, st] = await call(c3, 'getData', base);
    check('get base after sets', `${errName(err)} ${data} version=${st.version}`);

    // A child watch fires once.
    w = watcher();
    [err] = await call(c1, 'getChildren', base, w);
    check('childrenW base', errName(err));
    [err] = await call(c3, 'create', base + '/child-a', null, acl, CreateMode.PERSISTENT);
    const cev = await w.first();
    [err2] = await call(c3, 'create', base + '/child-b', null, acl, CreateMode.PERSISTENT);
    check('child watch', `${cev} (create ${errName(err)}); second create ${errName(err2)}`);
    check('child watch after the second create', await w.quiet());

    // A data watch on a node that is deleted; an exists watch on a missing node.
    w = watcher();
    [err] = await call(c1, 'getData', base + '/child-a', w);
    check('getW child-a', errName(err));
    [err] = await call(c3, 'remove', base + '/child-a', -1);
    check('delete child-a', `${errName(err)}; watch ${await w.first()}`);
    w = watcher();
    [err, st] = await call(c1, 'exists', base + '/later', w);
    check('existsW missing', `${errName(err)} exists=${!!st}`);
    [err] = await call(c3, 'create', base + '/later', null, acl, CreateMode.PERSISTENT);
    check('create later', `${errName(err)}; watch ${await w.first()}`);

    // Multi: one that commits, one whose failing check fails it whole, one that fails on
    // an existing node.
    let results;
    [err, results] = await call(c1.transaction()
        .create(base + '/m1', Buffer.from('a'), acl, CreateMode.PERSISTENT)
        .setData(base + '/m1', Buffer.from('b'), 0)
        .check(base + '/m1', 1), 'commit');
    check('multi that commits', `${errName(err)} ${multiResults(results)}`);
    [err, data, st] = await call(c1, 'getData', base + '/m1');
    check('node of the multi', `${errName(err)} ${data} version=${st && st.version}`);
    [err, results] = await call(c1.transaction()
        .create(base + '/m2', Buffer.from('a'), acl, CreateMode.PERSISTENT)
        .check(base, 99)
        .setData(base + '/m1', Buffer.from('c'), -1), 'commit');
    check('multi with a failing check', `${errName(err)} ${multiResults(results)}`);
    [err, st] = await call(c1, 'exists', base + '/m2');
    check('node created by the failed multi', `${errName(err)} exists=${!!st}`);
    [err, data, st] = await call(c1, 'getData', base + '/m1');
    check('node set by the failed multi', `${errName(err)} ${data} version=${st && st.version}`);
    [err, results] = await call(c1.transaction()
        .create(base + '/m3', null, acl, CreateMode.PERSISTENT)
        .create(base + '/m1', null, acl, CreateMode.PERSISTENT), 'commit');
    check('multi creating an existing node', `${errName(err)} ${multiResults(results)}`);
    [err, results] = await call(c1.transaction()
        .remove(base + '/m1', -1)
        .check(base + '/m1', -1), 'commit');
    check('multi checking a node it deleted', `${errName(err)} ${multiResults(results)}`);

    await lockRecipe(c1, c3, acl);
    await electionRecipe(c1, c3, acl);

    if (proxy && control) await acrossACut(c3, acl);

    // Clean up: a node with children is not deleted.
    [err] = await call(c1, 'remove', base, -1);
    check('delete base with children', errName(err));
    // The library's removeRecursive fails with NOT_EMPTY on grandchildren (on every
    // server): its listSubTreeBFS lists only the first level with the async 3 it installs.
    [err] = await call(c1, 'removeRecursive', base, -1);
    check("the library's removeRecursive", errName(err));
    check('delete base, deepest first', errName(await removeTree(c1, base)));
    [err, st] = await call(c1, 'exists', base);
    check('base after delete', `${errName(err)} exists=${!!st}`);
    c1.close();
    c3.close();
}

// Asks tests/compat.py to cut or release the proxy's connections; waits until it has.
async function ask(what) {
    fs.writeFileSync(`${control}/${what}`, '');
    const until = Date.now() + FIRE_WITHIN;
    while (!fs.existsSync(`${control}/${what}.done`)) {
        if (Date.now() > until) throw new Error(`${what} not done`);
        await sleep(10);
    }
}

// Resolves when `c` next emits `event` (false after FIRE_WITHIN).
function next(c, event) {
    return new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), FIRE_WITHIN);
        c.once(event, () => {
            clearTimeout(t);
            resolve(true);
        });
    });
}

// Watches set through the proxy, the connection cut, the nodes changed by `other` while
// the client is kept out, then the client let back in.
async function acrossACut(other, acl) {
    let [err] = await call(other, 'create', base + '/rw', Buffer.from('0'), acl, CreateMode.PERSISTENT);
    check('create rw', errName(err));
    const c = await connect(proxy);
    const id = c.getSessionId();
    const dataW = watcher();
    const existsW = watcher();
    const childW = watcher();
    const [e1] = await call(c, 'getData', base + '/rw', dataW);
    const [e2] = await call(c, 'exists', base + '/rw-new', existsW);
    const [e3] = await call(c, 'getChildren', base + '/rw', childW);
    check('watches through the proxy', `getData ${errName(e1)}, exists ${errName(e2)}, getChildren ${errName(e3)}`);
    const down = next(c, 'disconnected');
    await ask('cut');
    check('connection cut', `disconnected: ${await down}`);
    [err] = await call(other, 'setData', base + '/rw', Buffer.from('1'), -1);
    const [err2] = await call(other, 'create', base + '/rw-new', null, acl, CreateMode.PERSISTENT);
    const [err3] = await call(other, 'create', base + '/rw/kid', null, acl, CreateMode.PERSISTENT);
    check('changes while cut off', `set ${errName(err)}, create ${errName(err2)}, create child ${errName(err3)}`);
    const up = next(c, 'connected');
    await ask('release');
    check('session after the cut', `connected: ${await up}, same id: ${c.getSessionId().equals(id)}`);
    check('data watch across the cut', `${await dataW.first()}; ${await dataW.quiet()}`);
    check('exists watch across the cut', `${await existsW.first()}; ${await existsW.quiet()}`);
    check('child watch across the cut', `${await childW.first()}; ${await childW.quiet()}`);
    let data, st;
    [err, data, st] = await call(c, 'getData', base + '/rw');
    check('get rw after the cut', `${errName(err)} ${data} version=${st && st.version} numChildren=${st && st.numChildren}`);
    c.close();
}

// Deletes a node and everything under it, deepest first; the first error.
async function removeTree(c, path) {
    const [err, kids] = await call(c, 'getChildren', path);
    if (err) return err;
    for (const k of kids) {
        const e = await removeTree(c, `${path}/${k}`);
        if (e) return e;
    }
    const [e2] = await call(c, 'remove', path, -1);
    return e2;
}

// A lock: each contender creates an ephemeral sequential node; the lowest holds the
// lock; the others watch the node just before their own.
async function lockRecipe(a, b, acl) {
    const dir = base + '/lock';
    let [err] = await call(a, 'create', dir, null, acl, CreateMode.PERSISTENT);
    check('lock dir', errName(err));
    const tryLock = async (c, who) => {
        const [e, me] = await call(c, 'create', dir + '/lock-', null, acl, CreateMode.EPHEMERAL_SEQUENTIAL);
        if (e) return { state: `create ${errName(e)}` };
        for (;;) {
            const [e2, kids] = await call(c, 'getChildren', dir);
            if (e2) return { state: `children ${errName(e2)}` };
            kids.sort();
            const mine = me.slice(dir.length + 1);
            const i = kids.indexOf(mine);
            if (i === 0) return { state: 'acquired', node: mine };
            const w = watcher();
            const [e3, st] = await call(c, 'exists', `${dir}/${kids[i - 1]}`, w);
            if (e3) return { state: `exists ${errName(e3)}` };
            if (st) {
                check(`lock ${who}`, `waits for ${kids[i - 1]} (own ${mine})`);
                return { state: 'waiting', node: mine, wait: w };
            }
        }
    };
    const la = await tryLock(a, 'A');
    check('lock A', `${la.state} ${la.node}`);
    const lb = await tryLock(b, 'B');
    check('lock B while A holds it', lb.state);
    [err] = await call(a, 'remove', `${dir}/${la.node}`, -1);
    check('unlock A', errName(err));
    if (lb.wait) {
        const ev = await lb.wait.first();
        const [e2, kids] = await call(b, 'getChildren', dir);
        check('lock B after A released', `${ev}; ${errName(e2)} lowest is B's: ${kids.sort()[0] === lb.node}`);
    }
    [err] = await call(b, 'remove', `${dir}/${lb.node}`, -1);
    check('unlock B', errName(err));
}

// Leader election: three sessions, the lowest node leads; when the leader's session
// closes, the next (watching the leader's node) takes over.
async function electionRecipe(a, b, acl) {
    const dir = base + '/election';
    let [err] = await call(a, 'create', dir, null, acl, CreateMode.PERSISTENT);
    check('election dir', errName(err));
    const leader = await connect();
    const nodes = [];
    for (const [c, who] of [[leader, 'L'], [a, 'A'], [b, 'B']]) {
        const [e, p] = await call(c, 'create', dir + '/n_', Buffer.from(who), acl, CreateMode.EPHEMERAL_SEQUENTIAL);
        check(`candidate ${who}`, `${errName(e)} ${p && p.slice(dir.length + 1)}`);
        nodes.push(p);
    }
    const w = watcher();
    let st;
    [err, st] = await call(a, 'exists', nodes[0], w);
    check('A watches the leader', `${errName(err)} exists=${!!st}`);
    let kids, data;
    [err, kids] = await call(b, 'getChildren', dir);
    [err, data] = await call(b, 'getData', `${dir}/${kids.sort()[0]}`);
    check('leader', `${errName(err)} ${data}`);
    leader.close();
    check('A told the leader left', await w.first());
    [err, kids] = await call(a, 'getChildren', dir);
    [err, data] = await call(a, 'getData', `${dir}/${kids.sort()[0]}`);
    check('new leader', `${errName(err)} ${data} of ${kids.length}`);
}

main().catch((e) => {
    console.log(`FAILED ${e.stack || e}`);
    process.exit(1);
});
