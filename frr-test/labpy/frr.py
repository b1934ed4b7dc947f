"""FRR (zebra + bgpd) in vg-router, with its own config, pid and vty socket dir."""

import json
import os
import pwd
import subprocess

from . import common, procs
from .common import LabError

FRR_LIBEXEC = "/usr/lib/frr"
NS = "vg-router"


def frr_dir():
    return common.path("frr")


def zebra_conf():
    return ("frr defaults traditional\nhostname vg-router\nlog stdout informational\n"
            "!\ninterface eth0\n!\ninterface eth1\n!\nline vty\n!\n")


def bgpd_conf():
    r = common.hosts(0)["router"]
    return """frr defaults traditional
hostname vg-router
log stdout informational
!
router bgp {asn}
 bgp router-id {rid}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp log-neighbor-changes
 neighbor nodes peer-group
 neighbor nodes remote-as external
 bgp listen range 192.168.100.0/24 peer-group nodes
 bgp listen range fd76:100::/64 peer-group nodes
 bgp listen limit 200
 !
 address-family ipv4 unicast
  neighbor nodes activate
  neighbor nodes soft-reconfiguration inbound
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor nodes activate
  neighbor nodes soft-reconfiguration inbound
 exit-address-family
!
line vty
!
""".format(asn=r["as"], rid=r["routerId"])


def start(st):
    d = frr_dir()
    os.makedirs(d, mode=0o755, exist_ok=True)
    pw = pwd.getpwnam("frr")
    os.chown(d, pw.pw_uid, pw.pw_gid)
    common.write_file(os.path.join(d, "zebra.conf"), zebra_conf(), 0o640, owner="frr")
    common.write_file(os.path.join(d, "bgpd.conf"), bgpd_conf(), 0o640, owner="frr")
    common_args = ["-z", os.path.join(d, "zserv.api"), "--vty_socket", d, "-u", "frr", "-g", "frr",
                   "-P", "0", "--log", "stdout"]
    # foreground (no -d): the PID we record is the daemon itself
    procs.start(st, "zebra", NS, [os.path.join(FRR_LIBEXEC, "zebra"), "-f", os.path.join(d, "zebra.conf"),
                                  "-i", os.path.join(d, "zebra.pid")] + common_args)
    common.wait_for("zebra socket", lambda: os.path.exists(os.path.join(d, "zserv.api"))
                    or procs.check_running(st, "zebra"), 20, 0.05)
    procs.start(st, "bgpd", NS, [os.path.join(FRR_LIBEXEC, "bgpd"), "-f", os.path.join(d, "bgpd.conf"),
                                 "-i", os.path.join(d, "bgpd.pid")] + common_args)


def wait_ready(st, timeout=20):
    def ready():
        procs.check_running(st, "zebra")
        procs.check_running(st, "bgpd")
        return summary() is not None

    common.wait_for("bgpd answering vtysh", ready, timeout, 0.2)


def vtysh(*cmds, timeout=10):
    """Run vtysh commands in vg-router; returns stdout (raises on failure)."""
    argv = ["ip", "netns", "exec", NS, "vtysh", "--vty_socket", frr_dir()]
    for c in cmds:
        argv += ["-c", c]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise LabError("vtysh %s failed: %s" % (cmds, (p.stderr or p.stdout).strip()))
    return p.stdout


def summary():
    """`show bgp summary json` parsed, or None when bgpd does not answer."""
    try:
        out = vtysh("show bgp summary json", timeout=5)
        return json.loads(out or "{}")
    except (LabError, ValueError, subprocess.TimeoutExpired):
        return None


def neighbors():
    """{peer address: state} over all address families; None when bgpd does not answer."""
    s = summary()
    if s is None:
        return None
    out = {}
    for af in s.values():
        if isinstance(af, dict):
            for peer, info in (af.get("peers") or {}).items():
                state = info.get("state", "Unknown")
                # a peer may appear in several AFs; keep the most "up" state
                if out.get(peer) != "Established":
                    out[peer] = state
    return out
