"""vipgress lab: network namespaces, a real Kubernetes control plane, FRR and hosts.

The contract (names, addresses, JSON keys) is frr-test/LAB.md.

Layout:
  common.py  constants, address plan, state file, locking, small helpers
  procs.py   start/stop lab processes by recorded PID (+ start time)
  net.py     namespaces, bridge, veths, addresses, routes, sysctls
  kube.py    certificates, etcd, kube-apiserver, kube-controller-manager,
             Node objects, kube-proxy, a tiny REST client
  frr.py     zebra + bgpd in vg-router, vtysh queries
  pods.py    pod slots: `pod create|delete`
  status.py  `status [--json]`
  speaker.py `speaker ...` verbs (extension point)
  demo.py    `demo` verb (extension point)
  cli.py     argument parsing and the verb table
"""
