"""Constants, the address plan, the state file and small helpers shared by all verbs."""

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time

PREFIX = "vg-"
HOST_VETH = "vg-host"          # the only root-namespace object the lab makes
HOST_VETH_PEER = "host0"        # its end in vg-cp
HOST_VETH_CANDIDATES = ["10.254.254.0", "172.31.254.0", "192.168.254.0", "10.255.254.0", "172.30.254.0"]

K8S_VERSION = os.environ.get("K8S_VERSION", "v1.34.3")
CACHE = os.environ.get("VIPGRESS_CACHE", "/var/cache/vipgress")
LABDIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))   # frr-test/
BUILD_SCRIPT = os.path.join(LABDIR, "scripts", "build-k8s.sh")
ECHO_SERVER = os.path.join(LABDIR, "echo-server.py")

DEFAULT_NODES = 3
MAX_NODES = 20
SLOTS_PER_NODE = 2

ROUTER_AS = 64512
SERVICE_CIDRS = "10.96.0.0/16,fd76:96::/112"
CLUSTER_CIDRS = "10.244.0.0/16,fd76:244::/32"
APISERVER_PORT = 6443
CP_LAN4 = "192.168.100.2"
# A second IPv4 subnet on the LAN (same bridge) with room for thousands of L2 VIPs (the /24 has ~250):
# the router, ext and every node hold an address in it. On the nodes it has scope link, so it is never
# picked as a source address and the InternalIP stays the first IPv4 address the JDK lists for eth0.
LAN_VIP_NET4 = "192.168.112.0/20"
LAN_VIP_PREFIX4 = 20


class LabError(Exception):
    """A user-facing error: printed without a traceback, exit code 1 (or .code)."""

    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.code = code


def state_dir():
    return os.environ.get("VIPGRESS_LAB_DIR", "/run/vipgress-lab")


def path(*parts):
    return os.path.join(state_dir(), *parts)


def k8s_bin_dir():
    return os.path.join(CACHE, "k8s-" + K8S_VERSION, "bin")


def k8s_bin(name):
    return os.path.join(k8s_bin_dir(), name)


# ---------------------------------------------------------------- address plan

def node_name(i):
    return "node%d" % i


def node_index(name):
    """'node3' -> 3, anything else -> None."""
    if name.startswith("node") and name[4:].isdigit():
        return int(name[4:])
    return None


def slot_name(i, j):
    return "node%d-p%d" % (i, j)


# The second node segment ("far"): a bridge of its own (netns vg-lan2) behind the router's eth2, one node
# namespace per far node with pod slots like the others. Far nodes run no kube-proxy and are not Kubernetes
# Nodes: they exist for datapath tests of traffic that must cross the router (e.g. VXLAN steering).
FAR_NODES = 1
FAR_POD_BASE = 100      # far node k has pod CIDR 10.244.(100+k).0/24, fd76:244:(100+k)::/64


def far_name(k):
    return "far%d" % k


def far_slot_name(k, j):
    return "far%d-p%d" % (k, j)


def far_names():
    return [far_name(k) for k in range(1, FAR_NODES + 1)]


def is_far(name):
    return name in far_names()


def kube_node_names(n):
    """Every Kubernetes Node of the lab: node1..nodeN, then the far segment's nodes."""
    return [node_name(i) for i in range(1, n + 1)] + far_names()


def slots_of(node):
    """The pod slot names of a node (segment 1 or far)."""
    if is_far(node):
        k = int(node[3:])
        return [far_slot_name(k, j) for j in range(1, SLOTS_PER_NODE + 1)]
    i = node_index(node)
    return [slot_name(i, j) for j in range(1, SLOTS_PER_NODE + 1)]


def hosts(n):
    """Every lab host: name -> dict (netns, iface, addresses, routes...). Pure function of n."""
    h = {
        "cp": {"netns": "vg-cp", "iface": "eth0", "ipv4": CP_LAN4, "ipv6": "fd76:100::2",
               "mac": "02:76:67:00:00:02", "prefix4": 24, "prefix6": 64},
        "router": {"netns": "vg-router", "iface": "eth0", "ipv4": "192.168.100.1", "ipv6": "fd76:100::1",
                   "mac": "02:76:67:00:00:01", "prefix4": 24, "prefix6": 64,
                   "eth1": {"ipv4": "192.168.200.1", "ipv6": "fd76:200::1", "mac": "02:76:67:00:c8:01"},
                   "eth2": {"ipv4": "192.168.101.1", "ipv6": "fd76:101::1", "mac": "02:76:67:00:65:01"},
                   "vipNet4": "192.168.112.1/%d" % LAN_VIP_PREFIX4,
                   "as": ROUTER_AS, "routerId": "192.168.100.1"},
        "ext": {"netns": "vg-ext", "iface": "eth0", "ipv4": "192.168.100.100", "ipv6": "fd76:100::100",
                "mac": "02:76:67:00:00:64", "prefix4": 24, "prefix6": 64,
                "vipNet4": "192.168.112.100/%d" % LAN_VIP_PREFIX4,
                "gateway4": "192.168.100.1", "gateway6": "fd76:100::1"},
        "ext2": {"netns": "vg-ext2", "iface": "eth0", "ipv4": "192.168.200.100", "ipv6": "fd76:200::100",
                 "mac": "02:76:67:00:c8:64", "prefix4": 24, "prefix6": 64,
                 "gateway4": "192.168.200.1", "gateway6": "fd76:200::1"},
    }
    for i in range(1, n + 1):
        h[node_name(i)] = {
            "netns": "vg-node%d" % i, "iface": "eth0",
            "ipv4": "192.168.100.%d" % (10 + i), "ipv6": "fd76:100::%d" % (10 + i),
            "mac": "02:76:67:00:00:%02x" % (10 + i), "prefix4": 24, "prefix6": 64,
            "vipNet4": "192.168.112.%d/%d" % (10 + i, LAN_VIP_PREFIX4),
            "gateway4": "192.168.100.1", "gateway6": "fd76:100::1",
            "podCidr": "10.244.%d.0/24" % i, "podCidr6": "fd76:244:%d::/64" % i,
            "podGateway4": "10.244.%d.1" % i, "podGateway6": "fd76:244:%d::1" % i,
        }
    for k in range(1, FAR_NODES + 1):
        p = FAR_POD_BASE + k
        h[far_name(k)] = {
            "netns": "vg-far%d" % k, "iface": "eth0", "segment": 2,
            "ipv4": "192.168.101.%d" % (10 + k), "ipv6": "fd76:101::%d" % (10 + k),
            "mac": "02:76:67:00:65:%02x" % (10 + k), "prefix4": 24, "prefix6": 64,
            "gateway4": "192.168.101.1", "gateway6": "fd76:101::1",
            "podCidr": "10.244.%d.0/24" % p, "podCidr6": "fd76:244:%d::/64" % p,
            "podGateway4": "10.244.%d.1" % p, "podGateway6": "fd76:244:%d::1" % p,
        }
    return h


def slots(n):
    def slot(node, p, j):
        """Pod slot j of a node whose pod subnet is 10.244.p.0/24 (fd76:244:p::/64)."""
        return {
            "netns": "vg-%s-p%d" % (node, j), "node": node, "iface": "eth0",
            "ipv4": "10.244.%d.%d" % (p, 1 + j), "ipv6": "fd76:244:%d::%d" % (p, 1 + j),
            "mac": "02:76:67:01:%02x:%02x" % (p, j),
            "gateway4": "10.244.%d.1" % p, "gateway6": "fd76:244:%d::1" % p,
        }
    s = {}
    for i in range(1, n + 1):
        for j in range(1, SLOTS_PER_NODE + 1):
            s[slot_name(i, j)] = slot(node_name(i), i, j)
    for k in range(1, FAR_NODES + 1):
        for j in range(1, SLOTS_PER_NODE + 1):
            s[far_slot_name(k, j)] = slot(far_name(k), FAR_POD_BASE + k, j)
    return s


def far_pod_routes():
    """(cidr, via) for the far nodes' pod CIDRs (the router's routes into segment 2)."""
    out = []
    for k in range(1, FAR_NODES + 1):
        p = FAR_POD_BASE + k
        out.append(("10.244.%d.0/24" % p, "192.168.101.%d" % (10 + k)))
        out.append(("fd76:244:%d::/64" % p, "fd76:101::%d" % (10 + k)))
    return out


def pod_routes(n, exclude=None):
    """(cidr, via) for every node's pod CIDRs, IPv4 and IPv6, except node `exclude`."""
    out = []
    for k in range(1, n + 1):
        if k == exclude:
            continue
        out.append(("10.244.%d.0/24" % k, "192.168.100.%d" % (10 + k)))
        out.append(("fd76:244:%d::/64" % k, "fd76:100::%d" % (10 + k)))
    return out


# ---------------------------------------------------------------- state file

def load_state():
    try:
        with open(path("state.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def save_state(st):
    tmp = path("state.json.tmp")
    with open(tmp, "w") as f:
        json.dump(st, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path("state.json"))


@contextlib.contextmanager
def locked(create=False):
    """Exclusive lock on the state directory (pod slots, process table, up/down)."""
    d = state_dir()
    if create:
        os.makedirs(d, mode=0o755, exist_ok=True)
    if not os.path.isdir(d):
        yield False
        return
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)


def require_state():
    st = load_state()
    if st is None:
        raise LabError("the lab is not up (no %s); run: frr-test/lab up" % path("state.json"))
    return st


# ---------------------------------------------------------------- helpers

VERBOSE = os.environ.get("VIPGRESS_LAB_VERBOSE") == "1"
_T0 = time.monotonic()


def log(msg):
    print("[lab %5.1fs] %s" % (time.monotonic() - _T0, msg), file=sys.stderr, flush=True)


def debug(msg):
    if VERBOSE:
        log(msg)


def run(argv, check=True, capture=True, input=None, timeout=60):
    """Run a command; return stdout (str). Raises LabError with stderr on failure."""
    debug("run: " + " ".join(argv))
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None, text=True, timeout=timeout,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise LabError("command failed (%d): %s\n%s" % (p.returncode, " ".join(argv),
                                                        (p.stderr or "").strip()))
    return p.stdout if capture else ""


def ok(argv, timeout=30):
    """True when the command exits 0 (output discarded)."""
    try:
        return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def nsrun(ns, argv, **kw):
    return run(["ip", "netns", "exec", ns] + list(argv), **kw)


def wait_for(what, fn, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            r = fn()
            if r:
                return r
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        if time.monotonic() > deadline:
            raise LabError("timed out after %ds waiting for %s%s" % (timeout, what,
                                                                     (": %s" % last) if last else ""))
        time.sleep(interval)


def netns_list():
    out = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def lab_netns():
    return [n for n in netns_list() if n.startswith(PREFIX)]


def require_root():
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces); run it with sudo")


def write_file(p, text, mode=0o644, owner=None):
    tmp = p + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    if owner:
        import pwd
        pw = pwd.getpwnam(owner)
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.replace(tmp, p)
