// zkcheck-cbinding.js: the npm package `zookeeper`, Node's binding of Apache ZooKeeper's
// own C client (built at install from the C source the package bundles), against one
// server or ensemble: sessions, ephemerals, sequential nodes, data/child/exists watches
// that fire once, errors, and a lock built on ephemeral sequential nodes. The binding
// offers no multi (no zoo_amulti), so that part of the scenario is left out here. It
// prints one line per check, "name: result", with nothing that differs from run to run,
// so scripts/compat can compare what Warren and the reference ZooKeeper tell it.
//
// usage: node zkcheck-cbinding.js HOST:PORT[,HOST:PORT...] BASE_PATH
'use strict';

const ZooKeeper = require('zookeeper');

const C = ZooKeeper.constants;
const FIRE_WITHIN = 10000;
const QUIET_FOR = 700;

const [addr, base] = process.argv.slice(2);
if (!addr || !base) {
    console.error('usage: node zkcheck-cbinding.js HOST:PORT[,HOST:PORT...] BASE_PATH');
    process.exit(2);
}

const codes = {};
for (const [k, v] of Object.entries(C)) {
    if (/^Z[A-Z]+$/.test(k) && typeof v === 'number') codes[v] = k;
}
const rcName = (rc) => (rc === 0 ? 'ok' : codes[rc] || `rc ${rc}`);
const eventName = (t) => ({
    [C.ZOO_CREATED_EVENT]: 'CREATED', [C.ZOO_DELETED_EVENT]: 'DELETED',
    [C.ZOO_CHANGED_EVENT]: 'CHANGED', [C.ZOO_CHILD_EVENT]: 'CHILD',
}[t] || `event ${t}`);
const rel = (p) => (p === base ? '(base)' : p && p.startsWith(base) ? p.slice(base.length) : p);
const check = (name, result) => console.log(`${name}: ${result}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connect() {
    return new Promise((resolve, reject) => {
        const c = new ZooKeeper({
            connect: addr, timeout: 10000, debug_level: C.ZOO_LOG_LEVEL_ERROR,
            host_order_deterministic: false, data_as_buffer: false,
        });
        const t = setTimeout(() => reject(new Error('no session within 10 s')), FIRE_WITHIN);
        c.once('connect', () => {
            clearTimeout(t);
            resolve(c);
        });
        c.init({});
    });
}

// The callback API: [rc, result...] (rc 0 is ok), so errors can be printed.
function call(c, method, ...args) {
    return new Promise((resolve) => {
        c[method](...args, (rc, _error, ...rest) => resolve([rc, ...rest]));
    });
}

function watcher() {
    const events = [];
    let wake = null;
    const fn = (type, _state, path) => {
        events.push([type, path]);
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
        return `${eventName(events[0][0])} ${rel(events[0][1])}`;
    };
    fn.quiet = async () => {
        await sleep(QUIET_FOR);
        return events.length <= 1 ? 'no further event'
            : `fired again: ${events.slice(1).map((e) => eventName(e[0])).join(', ')}`;
    };
    return fn;
}

async function main() {
    const c1 = await connect();
    check('session 1', `connected, timeout ${c1.timeout} ms`);
    const c2 = await connect();
    check('session 2', `connected, other id: ${c1.client_id !== c2.client_id}`);
    const c3 = await connect();

    let [rc, p] = await call(c1, 'a_create', base, 'v0', C.ZOO_PERSISTENT);
    check('create base', `${rcName(rc)} ${rel(p)}`);
    [rc] = await call(c1, 'a_create', base, '', C.ZOO_PERSISTENT);
    check('create base again', rcName(rc));
    [rc] = await call(c1, 'a_get', base + '/missing', false);
    check('get missing', rcName(rc));
    [rc] = await call(c1, 'a_set', base, 'x', 5);
    check('set with a wrong version', rcName(rc));
    [rc] = await call(c1, 'a_delete_', base, 7);
    check('delete with a wrong version', rcName(rc));
    [rc] = await call(c1, 'a_create', base + '/no/parent', '', C.ZOO_PERSISTENT);
    check('create without parent', rcName(rc));
    let st, data;
    [rc, st, data] = await call(c1, 'a_get', base, false);
    check('get base', `${rcName(rc)} ${data} version=${st.version} numChildren=${st.numChildren}`);

    // Ephemerals.
    [rc, p] = await call(c2, 'a_create', base + '/eph', 'e', C.ZOO_EPHEMERAL);
    check('create ephemeral (session 2)', `${rcName(rc)} ${rel(p)}`);
    [rc, st] = await call(c2, 'a_exists', base + '/eph', false);
    check('ephemeral owned by session 2', `${rcName(rc)} ${st && st.createdInThisSession}`);
    [rc] = await call(c2, 'a_create', base + '/eph/child', '', C.ZOO_PERSISTENT);
    check('child of an ephemeral', rcName(rc));
    await call(c1, 'a_sync', base);
    let w = watcher();
    [rc, st] = await call(c1, 'aw_exists', base + '/eph', w);
    check('exists ephemeral (session 1)', `${rcName(rc)} owned here: ${st && st.createdInThisSession}`);
    c2.close();
    check('ephemeral watch after session 2 closed', `${await w.first()}; ${await w.quiet()}`);
    [rc] = await call(c1, 'a_exists', base + '/eph', false);
    check('ephemeral after its session closed', rcName(rc));

    // Sequential nodes.
    for (let i = 0; i < 3; i++) {
        [rc, p] = await call(c1, 'a_create', base + '/seq-', '', C.ZOO_PERSISTENT_SEQUENTIAL);
        check(`create sequential ${i}`, `${rcName(rc)} ${rel(p)}`);
    }
    [rc, p] = await call(c1, 'a_create', base + '/eseq-', '', C.ZOO_EPHEMERAL_SEQUENTIAL);
    check('create ephemeral sequential', `${rcName(rc)} ${rel(p)}`);
    let kids;
    [rc, kids] = await call(c1, 'a_get_children', base, false);
    check('children', `${rcName(rc)} ${kids.sort().join(' ')}`);

    // A data watch fires once.
    w = watcher();
    [rc] = await call(c1, 'aw_get', base, w);
    check('getW base', rcName(rc));
    [rc] = await call(c3, 'a_set', base, 'v1', -1);
    const ev = await w.first();
    let [rc2] = await call(c3, 'a_set', base, 'v2', -1);
    check('data watch', `${ev} (set ${rcName(rc)}); second set ${rcName(rc2)}`);
    check('data watch after the second set', await w.quiet());
    await call(c1, 'a_sync', base);
    [rc, st, data] = await call(c1, 'a_get', base, false);
    check('get base after sets', `${rcName(rc)} ${data} version=${st.version}`);

    // A child watch fires once.
    w = watcher();
    [rc] = await call(c1, 'aw_get_children', base, w);
    check('childrenW base', rcName(rc));
    [rc] = await call(c3, 'a_create', base + '/child-a', '', C.ZOO_PERSISTENT);
    const cev = await w.first();
    [rc2] = await call(c3, 'a_create', base + '/child-b', '', C.ZOO_PERSISTENT);
    check('child watch', `${cev} (create ${rcName(rc)}); second create ${rcName(rc2)}`);
    check('child watch after the second create', await w.quiet());

    w = watcher();
    [rc] = await call(c1, 'aw_get', base + '/child-a', w);
    check('getW child-a', rcName(rc));
    [rc] = await call(c3, 'a_delete_', base + '/child-a', -1);
    check('delete child-a', `${rcName(rc)}; watch ${await w.first()}`);
    w = watcher();
    [rc] = await call(c1, 'aw_exists', base + '/later', w);
    check('existsW missing', rcName(rc));
    [rc] = await call(c3, 'a_create', base + '/later', '', C.ZOO_PERSISTENT);
    check('create later', `${rcName(rc)}; watch ${await w.first()}`);

    // Containers and TTL nodes (extendedTypesEnabled on both servers): their stat's
    // ephemeralOwner encodes the type (ZooKeeper's EphemeralType).
    [rc, p] = await call(c1, 'a_create', base + '/container', '', C.ZOO_CONTAINER);
    check('create container', `${rcName(rc)} ${rel(p)}`);
    [rc, st] = await call(c1, 'a_exists', base + '/container', false);
    check('container ephemeralOwner', `${rcName(rc)} ${st && st.ephemeralOwner}`);
    [rc, p] = await call(c1, 'a_createTtl', base + '/ttl', '', C.ZOO_PERSISTENT_WITH_TTL, 100000);
    check('create TTL node', `${rcName(rc)} ${rel(p)}`);
    [rc, st] = await call(c1, 'a_exists', base + '/ttl', false);
    check('TTL node ephemeralOwner', `${rcName(rc)} ${st && st.ephemeralOwner}`);
    [rc, p] = await call(c1, 'a_createTtl', base + '/ttlseq-', '', C.ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 5000);
    check('create sequential TTL node', `${rcName(rc)} ${rel(p)}`);
    [rc] = await call(c1, 'a_create', base + '/container/child', '', C.ZOO_EPHEMERAL);
    check('ephemeral child of a container', rcName(rc));

    // A lock: ephemeral sequential nodes, the waiter watching the node before its own.
    const dir = base + '/lock';
    [rc] = await call(c1, 'a_create', dir, '', C.ZOO_PERSISTENT);
    check('lock dir', rcName(rc));
    const [rcA, a] = await call(c1, 'a_create', dir + '/lock-', '', C.ZOO_EPHEMERAL_SEQUENTIAL);
    const [rcB, b] = await call(c3, 'a_create', dir + '/lock-', '', C.ZOO_EPHEMERAL_SEQUENTIAL);
    check('lock contenders', `A ${rcName(rcA)} ${rel(a)}, B ${rcName(rcB)} ${rel(b)}`);
    [rc, kids] = await call(c3, 'a_get_children', dir, false);
    kids.sort();
    const mine = b.slice(dir.length + 1);
    check('lock holder', `${rcName(rc)} B holds it: ${kids[0] === mine}; before B: ${kids[kids.indexOf(mine) - 1]}`);
    w = watcher();
    [rc] = await call(c3, 'aw_exists', `${dir}/${kids[kids.indexOf(mine) - 1]}`, w);
    check('B watches the node before its own', rcName(rc));
    [rc] = await call(c1, 'a_delete_', a, -1);
    check('unlock A', `${rcName(rc)}; B told ${await w.first()}`);
    [rc, kids] = await call(c3, 'a_get_children', dir, false);
    check('lock B after A released', `${rcName(rc)} B holds it: ${kids.sort()[0] === mine}`);

    // Clean up.
    [rc] = await call(c1, 'a_delete_', base, -1);
    check('delete base with children', rcName(rc));
    await call(c3, 'a_delete_', b, -1);
    await call(c1, 'a_sync', base);
    const removeTree = async (path) => {
        const [r, ks] = await call(c1, 'a_get_children', path, false);
        if (r) return r;
        for (const k of ks) {
            const e = await removeTree(`${path}/${k}`);
            if (e) return e;
        }
        return (await call(c1, 'a_delete_', path, -1))[0];
    };
    check('delete base, deepest first', rcName(await removeTree(base)));
    [rc] = await call(c1, 'a_exists', base, false);
    check('base after delete', rcName(rc));
    c1.close();
    c3.close();
}

main().catch((e) => {
    console.log(`FAILED ${e.stack || e}`);
    process.exit(1);
});
