/*
 * The Apache ZooKeeper C client (libzookeeper_mt, Debian's 3.8) against a server:
 * a session, an ephemeral node, sequential nodes, a data watch that fires, and a multi
 * (zoo_multi) that commits and one that fails. It prints one line per result, with
 * nothing that differs from run to run (no session ids, zxids or times), so the test
 * can compare what Warren and the reference ZooKeeper tell it line by line.
 *
 * usage: zkcheck HOST:PORT BASE_PATH      (BASE_PATH must not exist)
 * Exit status 0 when every step ran; the printed results say whether they were right.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* The synchronous API (zoo_create, zoo_get, ...) exists in the multi-threaded library. */
#define THREADED
#include <zookeeper/zookeeper.h>

/* A flag set by a watcher thread and waited for by the main thread. */
struct signal {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int set;
    int type;
    char path[512];
};

static void signal_init(struct signal *s) {
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->set = 0;
    s->type = 0;
    s->path[0] = 0;
}

static void signal_raise(struct signal *s, int type, const char *path) {
    pthread_mutex_lock(&s->lock);
    s->set = 1;
    s->type = type;
    snprintf(s->path, sizeof s->path, "%s", path ? path : "");
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Waits up to `seconds` for the flag; returns whether it was raised. */
static int signal_wait(struct signal *s, int seconds) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&s->lock);
    while (!s->set) {
        if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0) break;
    }
    int set = s->set;
    pthread_mutex_unlock(&s->lock);
    return set;
}

static const char *event_name(int type) {
    if (type == ZOO_CREATED_EVENT) return "CREATED";
    if (type == ZOO_DELETED_EVENT) return "DELETED";
    if (type == ZOO_CHANGED_EVENT) return "CHANGED";
    if (type == ZOO_CHILD_EVENT) return "CHILD";
    if (type == ZOO_SESSION_EVENT) return "SESSION";
    return "OTHER";
}

/* The session watcher: raises the connected flag on CONNECTED. */
static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh;
    (void)path;
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) signal_raise(ctx, type, "");
}

/* A data watcher: raises its flag with the event's type and path. */
static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh;
    (void)state;
    signal_raise(ctx, type, path);
}

static zhandle_t *connect_to(const char *hosts, struct signal *connected) {
    signal_init(connected);
    zhandle_t *zh = zookeeper_init(hosts, session_watcher, 10000, 0, connected, 0);
    if (!zh || !signal_wait(connected, 20)) {
        printf("connect: failed\n");
        exit(2);
    }
    return zh;
}

static void print_rc(const char *what, int rc) { printf("%s: %s\n", what, zerror(rc)); }

/* The last path component of a created node's name. */
static const char *leaf(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void sequential_nodes(zhandle_t *zh, const char *base) {
    char path[512], made[512];
    snprintf(path, sizeof path, "%s/seq-", base);
    for (int i = 0; i < 3; i++) {
        int rc = zoo_create(zh, path, "s", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, made,
                            sizeof made);
        printf("create sequential: %s %s\n", zerror(rc), rc == ZOK ? leaf(made) : "-");
    }
}

static void ephemeral_node(const char *hosts, zhandle_t *zh, const char *base) {
    struct signal connected;
    zhandle_t *owner = connect_to(hosts, &connected);
    char path[512], made[512];
    snprintf(path, sizeof path, "%s/eph", base);
    int rc = zoo_create(owner, path, "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, made,
                        sizeof made);
    print_rc("create ephemeral", rc);
    struct Stat st;
    rc = zoo_exists(zh, path, 0, &st);
    printf("ephemeral seen by another session: %s owner-is-set=%d\n", zerror(rc),
           st.ephemeralOwner != 0);
    printf("ephemeral owner is its creator: %d\n",
           st.ephemeralOwner == zoo_client_id(owner)->client_id);
    /* Closing the owner's session deletes its ephemeral; a watch set now sees it go. */
    struct signal gone;
    signal_init(&gone);
    rc = zoo_wexists(zh, path, data_watcher, &gone, &st);
    print_rc("watch the ephemeral", rc);
    print_rc("close the owner", zookeeper_close(owner));
    int fired = signal_wait(&gone, 20);
    printf("ephemeral watch: fired=%d %s %s\n", fired, event_name(gone.type), leaf(gone.path));
    rc = zoo_exists(zh, path, 0, &st);
    print_rc("ephemeral after its session closed", rc);
}

static void data_watch(const char *hosts, zhandle_t *zh, const char *base) {
    struct signal connected, changed;
    zhandle_t *other = connect_to(hosts, &connected);
    signal_init(&changed);
    char buf[64];
    int len = sizeof buf;
    struct Stat st;
    int rc = zoo_wget(zh, base, data_watcher, &changed, buf, &len, &st);
    printf("wget: %s %.*s version=%d\n", zerror(rc), len < 0 ? 0 : len, buf, st.version);
    rc = zoo_set(other, base, "v1", 2, -1);
    print_rc("set by another session", rc);
    int fired = signal_wait(&changed, 20);
    printf("data watch: fired=%d %s %s\n", fired, event_name(changed.type),
           strcmp(changed.path, base) == 0 ? "base" : changed.path);
    len = sizeof buf;
    rc = zoo_get(zh, base, 0, buf, &len, &st);
    printf("get: %s %.*s version=%d\n", zerror(rc), len < 0 ? 0 : len, buf, st.version);
    zookeeper_close(other);
}

static void print_results(const char *what, int rc, zoo_op_result_t *results, int n) {
    printf("%s: %s\n", what, zerror(rc));
    for (int i = 0; i < n; i++) printf("  op %d: %s\n", i, zerror(results[i].err));
}

static void multi(zhandle_t *zh, const char *base) {
    char a[512], b[512], made_a[512], made_b[512];
    snprintf(a, sizeof a, "%s/multi-a", base);
    snprintf(b, sizeof b, "%s/multi-b", base);
    zoo_op_t ops[4];
    zoo_op_result_t results[4];
    zoo_create_op_init(&ops[0], a, "a", 1, &ZOO_OPEN_ACL_UNSAFE, 0, made_a, sizeof made_a);
    zoo_create_op_init(&ops[1], b, "b", 1, &ZOO_OPEN_ACL_UNSAFE, 0, made_b, sizeof made_b);
    zoo_set_op_init(&ops[2], a, "a2", 2, 0, NULL);
    zoo_check_op_init(&ops[3], base, 1);
    print_results("multi that commits", zoo_multi(zh, 4, ops, results), results, 4);

    /* Fails at its second op (the node exists): nothing of it is applied. */
    char c[512], made_c[512];
    snprintf(c, sizeof c, "%s/multi-c", base);
    zoo_create_op_init(&ops[0], c, "c", 1, &ZOO_OPEN_ACL_UNSAFE, 0, made_c, sizeof made_c);
    zoo_create_op_init(&ops[1], b, "b", 1, &ZOO_OPEN_ACL_UNSAFE, 0, made_b, sizeof made_b);
    zoo_delete_op_init(&ops[2], a, -1);
    print_results("multi that fails", zoo_multi(zh, 3, ops, results), results, 3);
    struct Stat st;
    print_rc("node of the failed multi", zoo_exists(zh, c, 0, &st));
    char buf[16];
    int len = sizeof buf;
    int rc = zoo_get(zh, a, 0, buf, &len, &st);
    printf("multi-a: %s %.*s version=%d\n", zerror(rc), len < 0 ? 0 : len, buf, st.version);
}

static void children(zhandle_t *zh, const char *base) {
    struct String_vector kids;
    int rc = zoo_get_children(zh, base, 0, &kids);
    printf("children: %s", zerror(rc));
    if (rc == ZOK) {
        /* Servers list children in no promised order: print them sorted. */
        for (int i = 0; i < kids.count; i++)
            for (int j = i + 1; j < kids.count; j++)
                if (strcmp(kids.data[i], kids.data[j]) > 0) {
                    char *t = kids.data[i];
                    kids.data[i] = kids.data[j];
                    kids.data[j] = t;
                }
        for (int i = 0; i < kids.count; i++) printf(" %s", kids.data[i]);
        deallocate_String_vector(&kids);
    }
    printf("\n");
}

static void remove_all(zhandle_t *zh, const char *base) {
    struct String_vector kids;
    char path[512];
    if (zoo_get_children(zh, base, 0, &kids) == ZOK) {
        for (int i = 0; i < kids.count; i++) {
            snprintf(path, sizeof path, "%s/%s", base, kids.data[i]);
            zoo_delete(zh, path, -1);
        }
        deallocate_String_vector(&kids);
    }
    print_rc("delete base", zoo_delete(zh, base, -1));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST:PORT BASE_PATH\n", argv[0]);
        return 64;
    }
    const char *hosts = argv[1], *base = argv[2];
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    struct signal connected;
    zhandle_t *zh = connect_to(hosts, &connected);
    printf("session: connected timeout=%d\n", zoo_recv_timeout(zh));
    char made[512];
    int rc = zoo_create(zh, base, "v0", 2, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made);
    print_rc("create base", rc);
    rc = zoo_create(zh, base, "v0", 2, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made);
    print_rc("create base again", rc);
    ephemeral_node(hosts, zh, base);
    sequential_nodes(zh, base);
    data_watch(hosts, zh, base);
    multi(zh, base);
    children(zh, base);
    remove_all(zh, base);
    print_rc("close", zookeeper_close(zh));
    return 0;
}
