"""Command line: verb table. Add verbs by adding a module with register(subparsers) to EXTENSIONS."""

import argparse
import os
import sys

from . import common, demo, kube, lifecycle, pods, selftest, speaker, status
from .common import LabError

# Modules that contribute verbs: each has register(subparsers) and may have status(st)/on_down(st).
EXTENSIONS = [speaker, demo, selftest]

USAGE_EXTRA = """
verbs:
  up [--nodes N]                       bring the lab up (idempotent; default 3 nodes)
  down                                 remove everything `up` made (also after a crash)
  status [--json]                      hosts, addresses, apiserver, processes, FRR neighbours
  exec HOST -- CMD...                  run CMD in a lab host: node1, ext, ext2, router, cp,
                                       lan, a slot node1-p1, or a pod NS/NAME
  kubectl ARGS...                      kubectl against the lab apiserver
  pod create NS/NAME --node NODE [--labels k=v,...]   prints the pod IPv4
  pod delete NS/NAME
  speaker start|stop|kill|freeze|thaw|logs NODE
  kube-proxy NODE --mode nftables|iptables   restart NODE's kube-proxy in that mode (`up` restores nftables)
  demo
  selftest                             quick checks: pod->ext, Lease, EndpointSlice, kube-proxy, FRR
contract: frr-test/LAB.md   state: $VIPGRESS_LAB_DIR (default /run/vipgress-lab)
"""


def resolve_netns(host):
    """HOST -> netns name (hosts, slots, `lan`, `vg-...`, or a pod NS/NAME)."""
    if "/" in host:
        return pods.netns_of(common.require_state(), host)
    if host.startswith(common.PREFIX):
        return host
    st = common.load_state()
    n = st["nodes"] if st else common.MAX_NODES
    if host == "lan":
        return "vg-lan"
    if host == "lan2":
        return "vg-lan2"
    h = common.hosts(n).get(host) or common.slots(n).get(host)
    if not h:
        raise LabError("unknown lab host %r (node1..node%d, far1, ext, ext2, router, cp, lan, lan2, nodeI-pJ, far1-pJ, NS/NAME)"
                       % (host, n), 2)
    return h["netns"]


def cmd_exec(argv):
    if not argv:
        raise LabError("usage: lab exec HOST -- CMD...", 2)
    host, rest = argv[0], argv[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    if not rest:
        raise LabError("usage: lab exec HOST -- CMD...", 2)
    ns = resolve_netns(host)
    if ns not in common.netns_list():
        raise LabError("namespace %s does not exist (is the lab up?)" % ns)
    sys.stdout.flush()
    os.execvp("ip", ["ip", "netns", "exec", ns] + rest)


def cmd_kubectl(argv):
    kc = common.path("kubeconfig")
    if not os.path.exists(kc):
        raise LabError("the lab is not up (no %s)" % kc)
    kubectl = common.k8s_bin("kubectl")
    if not os.access(kubectl, os.X_OK):
        raise LabError("%s missing; run: frr-test/lab up" % kubectl)
    sys.stdout.flush()
    os.execv(kubectl, [kubectl, "--kubeconfig=" + kc] + argv)


def cmd_kube_proxy(node, mode):
    common.require_root()
    i = common.node_index(node)
    with common.locked():
        st = common.require_state()
        if i is None or not 1 <= i <= st["nodes"]:
            raise LabError("kube-proxy runs on node1..node%d, not %r" % (st["nodes"], node), 2)
        kube.set_proxy_mode(st, i, mode)
        common.save_state(st)
    print("kube-proxy-%s: %s mode" % (node, mode))
    return 0


def parser():
    p = argparse.ArgumentParser(prog="lab", description="vipgress lab: network namespaces, a real control plane, "
                                "FRR and hosts", epilog=USAGE_EXTRA, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    u = sub.add_parser("up", help="bring the lab up (idempotent)")
    u.add_argument("--nodes", type=int, default=None, help="number of nodes (default 3, or the running lab's)")
    u.add_argument("--quiet", "-q", action="store_true", help="do not print the status table afterwards")
    u.set_defaults(func=lambda a: lifecycle.up(a.nodes) or (0 if a.quiet else status.show(False)))
    d = sub.add_parser("down", help="remove everything `up` made")
    d.set_defaults(func=lambda a: lifecycle.down(EXTENSIONS))
    s = sub.add_parser("status", help="state of the lab")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=lambda a: status.show(a.json))
    sub.add_parser("exec", help="exec HOST -- CMD...: run a command in a lab host")
    sub.add_parser("kubectl", help="kubectl ARGS...: kubectl against the lab apiserver")
    pod = sub.add_parser("pod", help="pod create|delete")
    psub = pod.add_subparsers(dest="podverb", metavar="create|delete")
    pc = psub.add_parser("create", help="create a Pod in a free slot of NODE; prints its IPv4")
    pc.add_argument("ref", metavar="NS/NAME")
    pc.add_argument("--node", required=True)
    pc.add_argument("--labels", default="")
    pc.set_defaults(func=lambda a: pods.create(a.ref, a.node, pods.parse_labels(a.labels)))
    pd = psub.add_parser("delete", help="delete the Pod and free its slot")
    pd.add_argument("ref", metavar="NS/NAME")
    pd.set_defaults(func=lambda a: pods.delete(a.ref))
    pod.set_defaults(func=lambda a: (pod.print_usage(), 2)[1])
    kp = sub.add_parser("kube-proxy", help="restart a node's kube-proxy in another proxy mode")
    kp.add_argument("node", metavar="NODE")
    kp.add_argument("--mode", required=True, choices=kube.PROXY_MODES)
    kp.set_defaults(func=lambda a: cmd_kube_proxy(a.node, a.mode))
    for mod in EXTENSIONS:
        mod.register(sub)
    return p


def main(argv):
    try:
        if argv and argv[0] == "exec":
            return cmd_exec(argv[1:])
        if argv and argv[0] == "kubectl":
            return cmd_kubectl(argv[1:])
        p = parser()
        a = p.parse_args(argv)
        if not getattr(a, "func", None):
            p.print_help()
            return 2
        return a.func(a) or 0
    except LabError as e:
        print("lab: %s" % e, file=sys.stderr)
        return e.code
    except BrokenPipeError:      # `lab status | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
