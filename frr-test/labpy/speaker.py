"""`speaker start|stop|kill|freeze|thaw|logs NODE` — the vipgress daemon in a node namespace.

The speaker runs as `speaker-node<i>` in vg-node<i> (recorded by PID like every lab process, so
`down` stops it). It talks to the apiserver through kubeconfig-lan and serves /metrics, /readyz and
/status on 127.0.0.1:9470 inside the node namespace.
"""

import os
import signal
import subprocess
import sys
import time

from . import common, kube, procs

ACTIONS = ["start", "stop", "kill", "freeze", "thaw", "logs"]
REPO = os.path.dirname(common.LABDIR)
JAR = os.path.join(REPO, "speaker", "target", "vipgress-speaker.jar")
HTTP_PORT = 9470

DEFAULT_CONFIG = """# written by frr-test/lab speaker start
namespace: vipgress-system
interfaces: [eth0]
clusterRanges: [10.244.0.0/16, 10.96.0.0/16, fd76:244::/32, fd76:96::/112]
timing: default
garp: {count: 3, interval: 200ms}
httpPort: %d
""" % HTTP_PORT


def proc_name(node):
    return "speaker-" + node


def register(sub):
    p = sub.add_parser("speaker", help="start/stop/kill/freeze/thaw the vipgress speaker of a node, or show its log")
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("node", help="node1..nodeN, far1")
    p.add_argument("--config", help="speaker YAML configuration (start; default: the lab's)")
    p.set_defaults(func=run)


def _java():
    r = subprocess.run([os.path.join(REPO, "scripts", "find-jdk")], capture_output=True, text=True)
    if r.returncode != 0:
        raise common.LabError(r.stderr.strip() or "no JDK >= 21 found")
    return os.path.join(r.stdout.strip(), "bin", "java")


def _libpcap():
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"):
        p = os.path.join(d, "libpcap.so.0.8")
        if os.path.exists(p):
            return p
    raise common.LabError("libpcap not found; apt-get install libpcap0.8")


def _ready(netns, timeout):
    url = "http://127.0.0.1:%d/readyz" % HTTP_PORT
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = subprocess.run(["ip", "netns", "exec", netns, "curl", "-sf", "--max-time", "1", url],
                           capture_output=True)
        if r.returncode == 0:
            return True
        time.sleep(0.2)
    return False


def start(st, node, config=None, timeout=60):
    if node not in common.kube_node_names(st.get("nodes", 0)):
        raise common.LabError("no lab node %s (nodes: node1..node%d, %s)" % (
            node, st.get("nodes", 0), ", ".join(common.far_names())), 2)
    name = proc_name(node)
    netns = "vg-" + node
    if procs.alive(st, name):
        return procs.pid_of(st, name)
    if not os.path.exists(JAR):
        raise common.LabError("%s is missing; build it first: make build" % JAR)
    cfg = config
    if cfg is None:
        cfg = common.path("speaker.yaml")
        if not os.path.exists(cfg):
            common.write_file(cfg, DEFAULT_CONFIG)
    kube.ensure_namespace(kube.Api(st), "vipgress-system")   # the deploy manifest makes it in a cluster
    os.makedirs(common.path("jna"), exist_ok=True)
    argv = [_java(), "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmx256m",
            "-Dorg.pcap4j.core.pcapLibName=" + _libpcap(), "-Djna.tmpdir=" + common.path("jna"),
            "-jar", JAR, "run", "--node", node, "--kubeconfig", common.path("kubeconfig-lan"),
            "--config", os.path.abspath(cfg)]
    env = dict(os.environ, NODE_NAME=node)
    pid = procs.start(st, name, netns, argv, env=env)
    if not _ready(netns, timeout):
        procs.check_running(st, name)
        raise common.LabError("%s (pid %d) not ready after %ds; see %s" % (name, pid, timeout, procs.log_path(name)))
    return pid


def run(a):
    common.require_root()
    name = proc_name(a.node)
    if a.action == "logs":
        try:
            with open(procs.log_path(name), errors="replace") as f:
                sys.stdout.write(f.read())
        except FileNotFoundError:
            raise common.LabError("no log for %s yet" % name)
        return 0
    with common.locked() as ok:
        if not ok:
            raise common.LabError("the lab is not up; run: frr-test/lab up")
        st = common.require_state()
        if a.action == "start":
            pid = start(st, a.node, a.config)
            print(pid)
        elif a.action == "stop":
            procs.stop(st, name, timeout=20)
            common.save_state(st)
        elif a.action == "kill":
            rec = st.get("processes", {}).get(name)
            if not procs.signal_proc(st, name, signal.SIGKILL):
                raise common.LabError("%s is not running" % name)
            while rec and procs.rec_alive(rec):
                time.sleep(0.01)
        elif a.action in ("freeze", "thaw"):
            sig = signal.SIGSTOP if a.action == "freeze" else signal.SIGCONT
            if not procs.signal_proc(st, name, sig):
                raise common.LabError("%s is not running" % name)
    return 0


def status(st):
    """{node: {"pid": int|None, "running": bool}} for every lab node (contract: status --json "speakers")."""
    out = {}
    for node in common.kube_node_names(st.get("nodes", 0)):
        pid = procs.pid_of(st, proc_name(node))
        out[node] = {"pid": pid, "running": pid is not None}
    return out
