"""`speaker start|stop|kill|freeze|thaw|logs NODE` — extension point (the daemon issue).

Contract for whoever implements it (keep these so status/down keep working):
  - run the daemon inside the node's namespace with procs.start(st, "speaker-node<i>",
    "vg-node<i>", argv) under common.locked(); `down` then stops it by its recorded PID
    like every other lab process, and status() below reports it;
  - kill  = procs.signal_proc(st, name, signal.SIGKILL); freeze/thaw = SIGSTOP/SIGCONT;
  - logs  = procs.log_path(name).
Hooks the CLI calls when present in this module: register(subparsers), status(st),
on_down(st) (before processes are stopped).
"""

from . import common, procs

ACTIONS = ["start", "stop", "kill", "freeze", "thaw", "logs"]


def proc_name(node):
    return "speaker-" + node


def register(sub):
    p = sub.add_parser("speaker", help="run/stop/kill/freeze/thaw the vipgress daemon on a node (not implemented yet)")
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("node", help="node1..nodeN")
    p.add_argument("args", nargs="*", help="extra daemon arguments (start)")
    p.set_defaults(func=run)


def run(a):
    raise common.LabError("`lab speaker %s` is not implemented yet (the daemon issue adds it)" % a.action, 2)


def status(st):
    """{node: {"pid": int|None, "running": bool}} for every lab node (contract: status --json "speakers")."""
    out = {}
    for i in range(1, st.get("nodes", 0) + 1):
        node = common.node_name(i)
        pid = procs.pid_of(st, proc_name(node))
        out[node] = {"pid": pid, "running": pid is not None}
    return out
