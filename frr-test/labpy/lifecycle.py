"""`up` and `down`."""

import os
import shutil
import time

from . import common, frr, kube, net, procs
from .common import LabError, path


def _mounts_under(d):
    d = os.path.realpath(d)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == d or mp.startswith(d + "/"):
                out.append(mp)
    return sorted(set(out), key=lambda m: -m.count("/"))


def _ensure_data_mount():
    """etcd's data on a tmpfs under the state dir (fast fsync; removed by `down`)."""
    d = path("data")
    os.makedirs(d, exist_ok=True)
    if os.path.realpath(d) not in _mounts_under(d):
        common.run(["mount", "-t", "tmpfs", "-o", "size=1g,mode=0755", "vg-lab-data", d])


def _start_echo(st, host):
    ns = common.hosts(0)[host]["netns"]
    procs.start(st, "echo-" + host, ns, ["/usr/bin/env", "python3", "-u", common.ECHO_SERVER])


def _etcd_healthy():
    return '"health":"true"' in common.nsrun("vg-cp", ["curl", "-s", "-m", "1", "http://127.0.0.1:2379/health"],
                                            check=False).replace(" ", "")


def _refuse_foreign():
    """No state but processes in vg- namespaces: not ours to remove (another state dir, or a user's)."""
    busy = procs.strays(common.lab_netns())
    if busy:
        raise LabError("vg- namespaces exist with running processes %s but %s has no state: another lab "
                       "(different VIPGRESS_LAB_DIR?) or processes you started; stop them or run "
                       "`down` with that state dir first" % (busy[:8], common.state_dir()))


def up(nodes_arg):
    common.require_root()
    t0 = time.monotonic()
    if common.load_state() is None:
        _refuse_foreign()
    bindir = kube.ensure_binaries()
    common.debug("kubernetes binaries: " + bindir)
    with common.locked(create=True):
        st = common.load_state()
        if st is None:
            _refuse_foreign()
            if common.lab_netns() or common.HOST_VETH in net.links(None):
                common.log("removing leftovers of an earlier run: %s" % (common.lab_netns() or [common.HOST_VETH]))
                net.down()
            st = {"version": 1, "nodes": nodes_arg or common.DEFAULT_NODES, "k8sVersion": common.K8S_VERSION,
                  "processes": {}, "slots": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        elif nodes_arg and nodes_arg < st["nodes"]:
            raise LabError("the lab is up with %d nodes; `up` never removes nodes — run `down` first"
                           % st["nodes"], 2)
        elif nodes_arg:
            st["nodes"] = nodes_arg
        n = st["nodes"]
        if not 1 <= n <= common.MAX_NODES:
            raise LabError("--nodes must be 1..%d" % common.MAX_NODES, 2)
        os.chmod(common.state_dir(), 0o755)
        _ensure_data_mount()
        common.save_state(st)

        common.log("network: %d nodes, %d pod slots" % (n, n * common.SLOTS_PER_NODE))
        net.up(st, n)
        common.save_state(st)
        kube.ensure_pki(st)

        # start everything that can run in parallel with the apiserver's boot
        kube.start_etcd(st)
        frr.start(st)
        _start_echo(st, "ext")
        _start_echo(st, "ext2")
        common.wait_for("etcd health", lambda: procs.check_running(st, "etcd") or _etcd_healthy(), 30, 0.1)
        kube.start_apiserver(st)
        common.log("control plane: waiting for kube-apiserver")
        api = kube.wait_apiserver(st)
        kube.start_kcm(st)
        kube.ensure_nodes(api, n)
        kube.restore_proxy_modes(st, n)
        for i in range(1, n + 1):
            kube.start_kube_proxy(st, i)
        frr.wait_ready(st)
        for s in common.slots(n):
            st["slots"].setdefault(s, None)
        common.save_state(st)
        common.log("waiting for kube-proxy (nftables) in %d node namespaces" % n)
        kube.wait_kube_proxies(st, n)
        kube.wait_default_sa(api, "default", 30)
        for name in ("kube-controller-manager", "echo-ext", "echo-ext2"):
            procs.check_running(st, name)
        common.save_state(st)
    common.log("lab up in %.1fs" % (time.monotonic() - t0))
    return 0


def down(extensions=()):
    common.require_root()
    t0 = time.monotonic()
    d = common.state_dir()
    with common.locked() as have_dir:
        st = common.load_state() if have_dir else None
        if st:
            for mod in extensions:
                hook = getattr(mod, "on_down", None)
                if hook:
                    hook(st)
            procs.stop_all(st)
            common.save_state(st)
        nslist = common.lab_netns()
        for pid, ns in procs.strays(nslist):
            comm = "?"
            try:
                with open("/proc/%d/comm" % pid) as f:
                    comm = f.read().strip()
            except OSError:
                pass
            common.log("WARNING: pid %d (%s) in %s was not started by the lab; not signalled" % (pid, comm, ns))
        net.down()
        for mp in _mounts_under(d) if os.path.isdir(d) else []:
            if not common.ok(["umount", mp]):
                common.run(["umount", "-l", mp])
        if os.path.isdir(d):
            left = _mounts_under(d)
            if left:
                raise LabError("mounts remain under %s: %s" % (d, left))
            shutil.rmtree(d)
    common.log("lab down in %.1fs" % (time.monotonic() - t0))
    return 0
