"""Lab processes: started in a namespace, recorded by real PID + kernel start time.

`ip netns exec NS PROG ...` switches namespace and exec()s PROG in the same process,
so the PID Popen returns is the daemon's own PID (no wrapper shell). We also record
the process start time (field 22 of /proc/PID/stat) so that a recycled PID is never
signalled. Stopping is by recorded PID only: SIGTERM, wait, SIGKILL.

Extension API (used by speaker.py and others):
  start(st, name, netns, argv, env=None)  -> pid   (records st["processes"][name], saves state)
  alive(st, name) -> bool
  pid_of(st, name) -> int | None
  signal_proc(st, name, sig) -> bool
  stop(st, name, timeout=5)
Callers hold common.locked() while mutating the state.
"""

import os
import signal
import subprocess
import time

from . import common


def _stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces/parens: fields after the last ')'
    rest = data[data.rindex(")") + 2:].split()
    return {"state": rest[0], "start": int(rest[19])}


def _matches(rec):
    s = _stat(rec["pid"])
    return s is not None and s["start"] == rec["start"]


def rec_alive(rec):
    s = _stat(rec["pid"])
    return s is not None and s["start"] == rec["start"] and s["state"] not in ("Z", "X")


def self_rec():
    """A record of the calling process (pid + start time), for liveness checks by others."""
    return {"pid": os.getpid(), "start": _stat(os.getpid())["start"]}


def alive(st, name):
    rec = st.get("processes", {}).get(name)
    return bool(rec) and rec_alive(rec)


def pid_of(st, name):
    rec = st.get("processes", {}).get(name)
    return rec["pid"] if rec and rec_alive(rec) else None


def log_path(name):
    return common.path("logs", name + ".log")


def start(st, name, netns, argv, env=None, cwd=None):
    """Start argv inside netns (None = root namespace) and record it as `name`."""
    if alive(st, name):
        return st["processes"][name]["pid"]
    os.makedirs(common.path("logs"), exist_ok=True)
    full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
    lp = log_path(name)
    with open(lp, "ab") as logf:
        logf.write(("\n==== %s start: %s\n" % (time.strftime("%H:%M:%S"), " ".join(full))).encode())
        logf.flush()
        p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True, close_fds=True, env=env, cwd=cwd or common.state_dir())
    s = None
    for _ in range(50):
        s = _stat(p.pid)
        if s:
            break
        time.sleep(0.01)
    if s is None:
        raise common.LabError("%s exited at once; see %s" % (name, lp))
    st.setdefault("processes", {})[name] = {"pid": p.pid, "start": s["start"], "netns": netns,
                                            "argv": list(argv), "log": lp}
    common.save_state(st)
    common.debug("started %s pid %d in %s" % (name, p.pid, netns))
    return p.pid


def check_running(st, name, grace=0.0):
    """Raise with the log tail if the recorded process has died."""
    if grace:
        time.sleep(grace)
    if not alive(st, name):
        rec = st.get("processes", {}).get(name, {})
        tail = ""
        try:
            with open(rec.get("log", log_path(name)), errors="replace") as f:
                tail = "".join(f.readlines()[-15:])
        except OSError:
            pass
        raise common.LabError("%s is not running; last log lines:\n%s" % (name, tail))


def signal_proc(st, name, sig):
    rec = st.get("processes", {}).get(name)
    if not rec or not _matches(rec):
        return False
    try:
        os.kill(rec["pid"], sig)
        return True
    except ProcessLookupError:
        return False


def stop_many(st, names, timeout=5.0):
    """SIGTERM the recorded processes `names`, wait up to timeout, SIGKILL the rest."""
    recs = {n: st.get("processes", {}).get(n) for n in names}
    recs = {n: r for n, r in recs.items() if r}
    for n, r in recs.items():
        if rec_alive(r):
            try:
                os.kill(r["pid"], signal.SIGCONT)   # a frozen process cannot handle SIGTERM
                os.kill(r["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(rec_alive(r) for r in recs.values()):
        time.sleep(0.05)
    for n, r in recs.items():
        if rec_alive(r):
            common.log("%s (pid %d) ignored SIGTERM; SIGKILL" % (n, r["pid"]))
            try:
                os.kill(r["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(rec_alive(r) for r in recs.values()):
        time.sleep(0.05)
    for n in recs:
        st["processes"].pop(n, None)
    # reap if they happen to be our children (zombies of a same-process up+down)
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def stop(st, name, timeout=5.0):
    stop_many(st, [name], timeout)


def stop_all(st, timeout=5.0):
    names = list(st.get("processes", {}))
    # stop consumers before the control plane: speakers, kube-proxy, kcm, apiserver, etcd last
    order = {"etcd": 9, "kube-apiserver": 8, "kube-controller-manager": 7, "zebra": 6}
    names.sort(key=lambda n: order.get(n, 0))
    first = [n for n in names if order.get(n, 0) == 0]
    stop_many(st, first, timeout)
    for n in [n for n in names if order.get(n, 0) > 0]:
        stop_many(st, [n], timeout)


def strays(netns_names):
    """PIDs of processes (not recorded, not ours) whose network namespace is a lab namespace.
    Only reported by `down`, never signalled."""
    inodes = {}
    for ns in netns_names:
        try:
            inodes[os.stat("/run/netns/" + ns).st_ino] = ns
        except OSError:
            pass
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ino = os.stat("/proc/%s/ns/net" % d).st_ino
        except OSError:
            continue
        if ino in inodes:
            out.append((int(d), inodes[ino]))
    return out
