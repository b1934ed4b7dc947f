"""`status [--json]`: the shape is part of the contract (LAB.md)."""

import json

from . import common, frr, kube, net, procs, speaker

CORE = ["etcd", "kube-apiserver", "kube-controller-manager", "zebra", "bgpd", "echo-ext", "echo-ext2"]


def core_processes(n):
    return CORE + ["kube-proxy-node%d" % i for i in range(1, n + 1)]


def collect():
    st = common.load_state()
    if st is None:
        return {"up": False, "nodes": 0, "stateDir": common.state_dir(), "k8sVersion": common.K8S_VERSION,
                "kubeconfig": None, "kubeconfigLan": None, "apiserver": None, "apiserverLan": None,
                "hosts": {}, "slots": {}, "processes": {}, "frr": {"neighbors": {}}, "speakers": {},
                "leftovers": common.lab_netns()}
    n = st.get("nodes", 0)
    hn = st.get("hostNet") or {}
    hosts = common.hosts(n)
    if hn:
        hosts["cp"].update({"hostIface": common.HOST_VETH_PEER, "hostIpv4": hn["cp"],
                            "rootIface": common.HOST_VETH, "rootIpv4": hn["root"]})
    slots = {}
    for name, s in common.slots(n).items():
        slots[name] = dict(s, pod=st.get("slots", {}).get(name))
    processes, down = {}, []
    for name in sorted(st.get("processes", {})):
        pid = procs.pid_of(st, name)
        if pid:
            processes[name] = pid
        else:
            down.append(name)
    missing_ns = net.check(n)
    api_ready = False
    if hn and st.get("token"):
        try:
            api_ready = kube.Api(st).readyz()
        except Exception:  # noqa: BLE001 - reported as not ready
            api_ready = False
    neighbors = frr.neighbors() if "bgpd" in processes else None
    core_down = [p for p in core_processes(n) if p not in processes]
    out = {
        "up": not missing_ns and not core_down and api_ready,
        "nodes": n,
        "stateDir": common.state_dir(),
        "k8sVersion": st.get("k8sVersion", common.K8S_VERSION),
        "kubeconfig": common.path("kubeconfig"),
        "kubeconfigLan": common.path("kubeconfig-lan"),
        "token": common.path("token"),
        "caCert": common.path("pki", "ca.crt"),
        "apiserver": "https://%s:%d" % (hn.get("cp"), common.APISERVER_PORT) if hn else None,
        "apiserverLan": "https://%s:%d" % (common.CP_LAN4, common.APISERVER_PORT),
        "apiserverReady": api_ready,
        "serviceCidrs": common.SERVICE_CIDRS.split(","),
        "clusterCidrs": common.CLUSTER_CIDRS.split(","),
        "hosts": hosts,
        "slots": slots,
        "processes": processes,
        "processesDown": down,
        "missingNetns": missing_ns,
        "frr": {"netns": frr.NS, "vtySocket": frr.frr_dir(), "as": common.ROUTER_AS,
                "answering": neighbors is not None, "neighbors": neighbors or {}},
        "speakers": speaker.status(st),
        "kubeProxyModes": {"node%d" % i: kube.proxy_mode(st, i) for i in range(1, n + 1)},
    }
    return out


def show(as_json):
    s = collect()
    if as_json:
        print(json.dumps(s, indent=2, sort_keys=False))
        return 0
    if not s["nodes"]:
        print("lab: down (state dir %s absent)%s" % (s["stateDir"], ("; leftover namespaces: %s" % s["leftovers"])
                                                     if s.get("leftovers") else ""))
        return 0
    print("lab: %s   nodes: %d   kubernetes %s   state: %s" % ("UP" if s["up"] else "DEGRADED", s["nodes"],
                                                               s["k8sVersion"], s["stateDir"]))
    print("apiserver: %s (root ns)  %s (lab LAN)  ready=%s" % (s["apiserver"], s["apiserverLan"],
                                                              s["apiserverReady"]))
    print("kubeconfig: %s   (in namespaces: %s)" % (s["kubeconfig"], s["kubeconfigLan"]))
    print()
    print("%-8s %-11s %-16s %-15s %-18s %s" % ("HOST", "NETNS", "IPV4", "IPV6", "MAC", "EXTRA"))
    for name, h in s["hosts"].items():
        extra = ""
        if "podCidr" in h:
            extra = "pods %s %s" % (h["podCidr"], h["podCidr6"])
        elif name == "router":
            extra = "eth1 %s %s, AS %d" % (h["eth1"]["ipv4"], h["eth1"]["ipv6"], h["as"])
        elif name == "cp" and "hostIpv4" in h:
            extra = "%s %s <-> root %s %s" % (h["hostIface"], h["hostIpv4"], h["rootIface"], h["rootIpv4"])
        print("%-8s %-11s %-16s %-15s %-18s %s" % (name, h["netns"], h["ipv4"], h["ipv6"], h["mac"], extra))
    print()
    print("%-9s %-13s %-12s %-16s %s" % ("SLOT", "NETNS", "IPV4", "IPV6", "POD"))
    for name, sl in s["slots"].items():
        print("%-9s %-13s %-12s %-16s %s" % (name, sl["netns"], sl["ipv4"], sl["ipv6"], sl["pod"] or "-"))
    print()
    print("processes: " + ", ".join("%s=%d" % kv for kv in s["processes"].items()))
    if s["processesDown"]:
        print("NOT RUNNING: " + ", ".join(s["processesDown"]))
    if s["missingNetns"]:
        print("MISSING NAMESPACES: " + ", ".join(s["missingNetns"]))
    f = s["frr"]
    print("frr (%s, AS %d): %s" % (f["netns"], f["as"], "answering" if f["answering"] else "NOT ANSWERING"), end="")
    print("; neighbors: " + (", ".join("%s %s" % kv for kv in f["neighbors"].items()) or "none"))
    sp = s["speakers"]
    if any(v.get("running") for v in sp.values()):
        print("speakers: " + ", ".join("%s=%s" % (k, v.get("pid")) for k, v in sp.items() if v.get("running")))
    return 0
