"""Namespaces, the LAN bridge, veths, addresses, routes and sysctls (idempotent)."""

import ipaddress
import json

from . import common
from .common import run

# sysctls per namespace kind; set right after `ip netns add`, before any interface
# exists, so the `default` values apply to every interface created later.
BASE_SYSCTLS = [
    "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
    "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0",
    "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
    "net.ipv4.conf.all.accept_redirects=0", "net.ipv4.conf.default.accept_redirects=0",
    "net.ipv6.conf.all.accept_redirects=0", "net.ipv6.conf.default.accept_redirects=0",
]
FORWARD_SYSCTLS = [
    "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1",
    "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0",
]
LAN_SYSCTLS = [
    "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
    "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0",
    "net.bridge.bridge-nf-call-arptables=0",
]


def links(ns):
    argv = ["ip", "-j", "link", "show"] if ns is None else ["ip", "-n", ns, "-j", "link", "show"]
    out = run(argv, check=False)
    try:
        return {l["ifname"] for l in json.loads(out or "[]")}
    except ValueError:
        return set()


def batch(ns, cmds):
    if not cmds:
        return
    common.debug("batch %s:\n  %s" % (ns, "\n  ".join(cmds)))
    run(["ip", "-n", ns, "-batch", "-"], input="\n".join(cmds) + "\n")


def sysctl(ns, settings):
    if settings:
        common.nsrun(ns, ["sysctl", "-q", "-e", "-w"] + settings)


def ensure_ns(ns, kind, existing):
    if ns in existing:
        return False
    run(["ip", "netns", "add", ns])
    settings = LAN_SYSCTLS if kind == "lan" else BASE_SYSCTLS + (FORWARD_SYSCTLS if kind == "fwd" else [])
    sysctl(ns, settings)
    return True


# ---------------------------------------------------------------- root veth

def _root_prefixes():
    nets = []
    for fam in ("-4",):
        out = run(["ip", fam, "-o", "route", "show", "table", "all"], check=False)
        for line in out.splitlines():
            w = line.split()
            if not w:
                continue
            dst = w[1] if w[0] in ("local", "broadcast", "unicast", "multicast", "blackhole",
                                    "unreachable", "prohibit", "throw", "anycast", "nat") else w[0]
            if dst == "default":
                continue
            try:
                nets.append(ipaddress.ip_network(dst, strict=False))
            except ValueError:
                pass
        out = run(["ip", fam, "-o", "addr", "show"], check=False)
        for line in out.splitlines():
            w = line.split()
            if "inet" in w:
                try:
                    nets.append(ipaddress.ip_interface(w[w.index("inet") + 1]).network)
                except ValueError:
                    pass
    return nets


def choose_host_subnet():
    used = _root_prefixes()
    for base in common.HOST_VETH_CANDIDATES:
        cand = ipaddress.ip_network(base + "/30")
        if not any(cand.overlaps(u) for u in used):
            hosts = list(cand.hosts())
            return {"subnet": str(cand), "root": str(hosts[0]), "cp": str(hosts[1]), "prefix": 30}
    raise common.LabError("no free /30 for the vg-host veth among %s" % common.HOST_VETH_CANDIDATES)


# ---------------------------------------------------------------- up

def up(st, n):
    H = common.hosts(n)
    S = common.slots(n)
    existing = set(common.netns_list())

    ensure_ns("vg-lan", "lan", existing)
    for name in ("cp", "ext", "ext2"):
        ensure_ns(H[name]["netns"], "host", existing)
    ensure_ns("vg-router", "fwd", existing)
    for i in range(1, n + 1):
        ensure_ns(H[common.node_name(i)]["netns"], "fwd", existing)
    ensure_ns("vg-lan2", "lan", existing)
    for k in range(1, common.FAR_NODES + 1):
        ensure_ns(H[common.far_name(k)]["netns"], "fwd", existing)
    for s in S.values():
        ensure_ns(s["netns"], "host", existing)

    # LAN bridge and one veth per LAN host (bridge port named after the host)
    lan = links("vg-lan")
    cmds = []
    if "br0" not in lan:
        cmds.append("link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0")
    lan_hosts = ["cp", "router", "ext"] + [common.node_name(i) for i in range(1, n + 1)]
    for name in lan_hosts:
        if name not in lan:
            h = H[name]
            cmds.append("link add %s type veth peer name eth0 address %s netns %s" % (name, h["mac"], h["netns"]))
        cmds.append("link set %s master br0 up" % name)
    cmds.append("link set br0 up")
    batch("vg-lan", cmds)

    # router eth1 <-> ext2 eth0 (ext2 is reachable only through the router)
    if "eth1" not in links("vg-router"):
        batch("vg-router", ["link add eth1 address %s type veth peer name eth0 address %s netns vg-ext2"
                            % (H["router"]["eth1"]["mac"], H["ext2"]["mac"])])

    # segment 2: its own bridge in vg-lan2, the router's eth2 and the far nodes on it
    lan2 = links("vg-lan2")
    cmds = []
    if "br0" not in lan2:
        cmds.append("link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0")
    if "router" not in lan2:
        if "eth2" in links("vg-router"):   # a half of a pair whose other namespace is gone
            batch("vg-router", ["link del eth2"])
        cmds.append("link add router type veth peer name eth2 address %s netns vg-router" % H["router"]["eth2"]["mac"])
    cmds.append("link set router master br0 up")
    for k in range(1, common.FAR_NODES + 1):
        name = common.far_name(k)
        if name not in lan2:
            h = H[name]
            cmds.append("link add %s type veth peer name eth0 address %s netns %s" % (name, h["mac"], h["netns"]))
        cmds.append("link set %s master br0 up" % name)
    cmds.append("link set br0 up")
    batch("vg-lan2", cmds)

    # the single root-namespace veth into vg-cp
    if common.HOST_VETH not in links(None):
        hn = st.get("hostNet") or choose_host_subnet()
        # re-check: the root routes may have changed since the state was written
        if any(ipaddress.ip_network(hn["subnet"]).overlaps(u) for u in _root_prefixes()):
            hn = choose_host_subnet()
        st["hostNet"] = hn
        run(["ip", "link", "add", common.HOST_VETH, "type", "veth", "peer", "name",
             common.HOST_VETH_PEER, "netns", "vg-cp"])
        run(["ip", "addr", "replace", "%s/30" % hn["root"], "dev", common.HOST_VETH])
        run(["ip", "link", "set", common.HOST_VETH, "up"])
    hn = st["hostNet"]

    # per-host addresses and routes
    def lan_addr(h, dev="eth0"):
        cmds = ["addr replace %s/%d dev %s" % (h["ipv4"], h["prefix4"], dev),
                "addr replace %s/%d dev %s nodad" % (h["ipv6"], h["prefix6"], dev),
                "link set %s up" % dev, "link set lo up"]
        if "vipNet4" in h:
            # nodes: scope link, see common.LAN_VIP_NET4
            cmds.append("addr replace %s dev %s%s" % (h["vipNet4"], dev, " scope link" if "podCidr" in h else ""))
        return cmds

    def pod_routes(exclude=None):
        return ["route replace %s via %s" % (c, v) if ":" not in c else "route replace %s via %s" % (c, v)
                for c, v in common.pod_routes(n, exclude)]

    def default_routes(h):
        return ["route replace default via %s" % h["gateway4"], "route replace default via %s" % h["gateway6"]]

    cp = H["cp"]
    batch("vg-cp", lan_addr(cp) + [
        "addr replace %s/30 dev %s" % (hn["cp"], common.HOST_VETH_PEER),
        "link set %s up" % common.HOST_VETH_PEER,
        "route replace default via 192.168.100.1", "route replace default via fd76:100::1",
    ] + pod_routes())

    r = H["router"]
    batch("vg-router", lan_addr(r) + [
        "addr replace %s/24 dev eth1" % r["eth1"]["ipv4"],
        "addr replace %s/64 dev eth1 nodad" % r["eth1"]["ipv6"],
        "link set eth1 up",
        "addr replace %s/24 dev eth2" % r["eth2"]["ipv4"],
        "addr replace %s/64 dev eth2 nodad" % r["eth2"]["ipv6"],
        "link set eth2 up",
    ] + pod_routes() + ["route replace %s via %s" % cv for cv in common.far_pod_routes()])
    batch("vg-ext", lan_addr(H["ext"]) + default_routes(H["ext"]) + pod_routes())
    batch("vg-ext2", lan_addr(H["ext2"]) + default_routes(H["ext2"]))

    def pod_bridge(h, index, slot_names, routes):
        """A node's pod bridge cbr0 with its slots' veths, then the node's routes."""
        ns = h["netns"]
        nl = links(ns)
        cmds = lan_addr(h)
        if "cbr0" not in nl:
            cmds.append("link add cbr0 address 02:76:67:02:%02x:01 type bridge stp_state 0 forward_delay 0 "
                        "mcast_snooping 0" % index)
        cmds += ["addr replace %s/24 dev cbr0" % h["podGateway4"],
                 "addr replace %s/64 dev cbr0 nodad" % h["podGateway6"], "link set cbr0 up"]
        for j, name in enumerate(slot_names, 1):
            s = S[name]
            port = "p%d" % j
            if port not in nl:
                cmds.append("link add %s type veth peer name eth0 address %s netns %s" % (port, s["mac"], s["netns"]))
            cmds.append("link set %s master cbr0 up" % port)
        batch(ns, cmds + routes)
        for name in slot_names:
            s = S[name]
            batch(s["netns"], [
                "addr replace %s/24 dev eth0" % s["ipv4"], "addr replace %s/64 dev eth0 nodad" % s["ipv6"],
                "link set eth0 up", "link set lo up",
                "route replace default via %s" % s["gateway4"], "route replace default via %s" % s["gateway6"],
            ])

    for i in range(1, n + 1):
        h = H[common.node_name(i)]
        pod_bridge(h, i, [common.slot_name(i, j) for j in range(1, common.SLOTS_PER_NODE + 1)],
                   default_routes(h) + pod_routes(exclude=i))

    for k in range(1, common.FAR_NODES + 1):
        h = H[common.far_name(k)]
        pod_bridge(h, common.FAR_POD_BASE + k,
                   [common.far_slot_name(k, j) for j in range(1, common.SLOTS_PER_NODE + 1)],
                   default_routes(h))


def check(n):
    """Cheap health check of the topology: every namespace exists."""
    have = set(common.netns_list())
    want = {"vg-lan", "vg-lan2", "vg-cp", "vg-router", "vg-ext", "vg-ext2"}
    want |= {common.hosts(n)[common.far_name(k)]["netns"] for k in range(1, common.FAR_NODES + 1)}
    want |= {common.hosts(n)[common.node_name(i)]["netns"] for i in range(1, n + 1)}
    want |= {s["netns"] for s in common.slots(n).values()}
    return sorted(want - have)


# ---------------------------------------------------------------- down

def down():
    """Delete the vg-host veth and every vg- namespace (also leftovers of crashed runs)."""
    if common.HOST_VETH in links(None):
        run(["ip", "link", "del", common.HOST_VETH], check=False)
    names = common.lab_netns()
    # slots first, then nodes, then the rest (order is cosmetic: deleting a netns destroys its veths)
    names.sort(key=lambda x: (-x.count("-"), x))
    for ns in names:
        run(["ip", "netns", "del", ns], check=False)
    left = common.lab_netns()
    if left:
        raise common.LabError("could not delete namespaces: %s" % left)
