"""Runs one client's compatibility scenario against a fresh standalone Warren and a fresh
reference ZooKeeper 3.8 (and, with --ensemble, a fresh 3-member Warren ensemble), each on
free ports with its own temporary data dir (tests/servers.py), and compares what the
client printed, line by line ("check: result").

usage: python3 tests/compat.py [--ensemble] NAME -- COMMAND ARGS...
In ARGS, {addr} becomes the server's address list and {base} a base path for the run;
{proxy} the address of a proxy (tests/cutproxy.py) in front of the server (of the first
member of an ensemble) and {control} a directory through which the client asks for the
proxy's connections to be cut: it creates the file `cut` (the proxy then cuts every
connection and refuses new ones, and the file `cut.done` appears) and later `release`
(the proxy accepts again; `release.done` appears).
Prints one line per check (same / DIFF), then "NAME: N checks, N differ"; exits 1 on a
difference, a failed run or a missing reference server."""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
from cutproxy import CutProxy  # noqa: E402

TIMEOUT = 180


def control_loop(proxy, control, stop):
    """Serves the client's cut and release requests (see the module's doc)."""
    while not stop.is_set():
        for what, act in (("cut", proxy.hold), ("release", proxy.release)):
            req = os.path.join(control, what)
            if os.path.exists(req):
                act()
                os.remove(req)
                open(req + ".done", "w").close()
        time.sleep(0.01)


def run(cmd, addr, base):
    proxy = control = None
    stop = threading.Event()
    if any("{proxy}" in a for a in cmd):
        host, port = addr.split(",")[0].rsplit(":", 1)
        proxy = CutProxy(host, int(port))
        control = tempfile.mkdtemp(prefix="compat-control-")
        threading.Thread(target=control_loop, args=(proxy, control, stop), daemon=True).start()
    argv = [a.replace("{addr}", addr).replace("{base}", base)
            .replace("{proxy}", proxy.address if proxy else "")
            .replace("{control}", control or "") for a in cmd]
    try:
        return run_argv(argv)
    finally:
        stop.set()
        if proxy:
            proxy.close()
            shutil.rmtree(control, ignore_errors=True)


def run_argv(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or ""), f"timed out after {TIMEOUT}s"
    problem = None
    if out.returncode != 0:
        problem = f"exit status {out.returncode}; stderr: {out.stderr.strip()[-2000:]}"
    return out.stdout, problem


def start_all(ensemble):
    """Starts the servers at once (the reference's JVM takes a few seconds)."""
    made, errors = {}, []

    def start(key, cls):
        try:
            made[key] = cls()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{key}: {e}")

    kinds = [("warren", servers.WarrenServer), ("reference", servers.ReferenceServer)]
    if ensemble:
        # extendedTypesEnabled as in the standalone servers' zoo.cfg (TTL nodes).
        kinds.append(("ensemble", lambda: servers.WarrenEnsemble(
            extra_cfg="extendedTypesEnabled=true\n")))
    threads = [threading.Thread(target=start, args=k) for k in kinds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return made, errors


def compare(name, label, ref_lines, got_lines):
    """Prints one line per check; the number of differing lines."""
    diffs = 0
    n = max(len(ref_lines), len(got_lines))
    for i in range(n):
        r = ref_lines[i] if i < len(ref_lines) else "(nothing)"
        g = got_lines[i] if i < len(got_lines) else "(nothing)"
        if r == g:
            print(f"  same  [{label}] {g}")
        else:
            diffs += 1
            print(f"  DIFF  [{label}] warren: {g}")
            print(f"        [{label}] zookeeper: {r}")
    return diffs


def main():
    args = sys.argv[1:]
    ensemble = False
    if args and args[0] == "--ensemble":
        ensemble, args = True, args[1:]
    if len(args) < 3 or args[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    name, cmd = args[0], args[2:]
    if not servers.reference_available():
        print(f"{name}: the reference ZooKeeper is not installed (../shared/refzk)")
        return 1
    made, errors = start_all(ensemble)
    try:
        if errors:
            for e in errors:
                print(f"{name}: server did not start: {e}")
            return 1
        base = "/compat-" + name.replace(" ", "-")
        outs = {}
        failed = 0
        for key in made:
            out, problem = run(cmd, made[key].address, base)
            outs[key] = out.splitlines()
            if problem:
                failed += 1
                print(f"{name}: run against {key} FAILED: {problem}")
        ref = outs["reference"]
        print(f"{name}: standalone Warren vs reference ZooKeeper 3.8")
        diffs = compare(name, "standalone", ref, outs["warren"])
        summary = f"{name}: standalone {len(ref)} checks, {diffs} differ"
        if ensemble:
            print(f"{name}: 3-member Warren ensemble vs reference ZooKeeper 3.8")
            ediffs = compare(name, "ensemble", ref, outs["ensemble"])
            summary += f"; ensemble {len(ref)} checks, {ediffs} differ"
            diffs += ediffs
        if failed:
            summary += f"; {failed} run(s) failed"
        if not ref:
            summary += "; the reference run printed nothing"
            failed += 1
        print(summary)
        return 1 if diffs or failed else 0
    finally:
        for s in made.values():
            s.close()


if __name__ == "__main__":
    sys.exit(main())
