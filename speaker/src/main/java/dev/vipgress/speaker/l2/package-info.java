/**
 * L2 mode: answers ARP and IPv6 neighbour solicitations for the VIPs this node owns and announces
 * takeovers with gratuitous ARP requests / unsolicited neighbour advertisements, through pcap4j.
 * The VIP is never added to an interface.
 *
 * <p>Layers: {@link dev.vipgress.speaker.l2.FrameEncoder} / {@link
 * dev.vipgress.speaker.l2.FrameDecoder} are a pure codec for the immutable {@link
 * dev.vipgress.speaker.l2.L2Message}s; {@code NeighborResponder} decides per frame from the VIP
 * table; {@code PcapPort} is the only class that touches libpcap; {@link
 * dev.vipgress.speaker.l2.L2Announcer} wires them and owns the threads.
 *
 * <h2>Why a userspace responder and not the kernel's proxy neighbour</h2>
 *
 * The fencing rule is that a node whose daemon is dead or frozen stops answering by its deadline. A
 * pcap responder gets that from the process lifetime: its socket closes when the process dies, and
 * it checks {@code System.nanoTime()} against the VIP's deadline on every request, so a JVM thawed
 * after its deadline answers nothing it had queued. The kernel's proxy ARP (proxy entry plus a
 * {@code VIP/32 dev lo} route, {@code proxy_delay=0}) keeps answering after the process is gone; it
 * needs a second piece of kernel state that expires on its own (an nftables {@code arp} output
 * filter with a timeout set, refreshed in delete+add transactions, datapath.md), a route and proxy
 * entry per VIP, proxy NDP for IPv6, and clean-up of all of it at start. Gratuitous frames need
 * pcap either way.
 *
 * <p>Measured in the lab (Linux 6.x veth bridge, Temurin 25, libpcap 1.10.3, a busy 2-core host):
 *
 * <ul>
 *   <li>answer latency seen by ext's arping: userspace p50 240 us (p90 570 us, 200 requests, quiet
 *       host; p50 0.7 ms under load), kernel proxy ARP p50 6 us (max 38 us). Paid when a neighbour
 *       (re)resolves the VIP, about once per reachable time (~30 s), not per packet;
 *   <li>SIGKILL of the owner: no answer after the kill. SIGSTOP past the deadline: none while
 *       frozen and none after SIGCONT; the thawed process refused the 7-10 requests it had queued
 *       ({@code vipgress_l2_requests_refused_total});
 *   <li>takeover to ext's existing neighbour entry pointing at the new owner (first gratuitous
 *       frame): p50 1.1-1.5 ms, max 8-16 ms over 10 planned moves per family; crash moves alike;
 *   <li>cost: one receive thread per interface (idle in {@code poll}), ~0.3 % of a core for polling
 *       link state every 100 ms, ~85 MB RSS for a standalone JVM running only this.
 * </ul>
 *
 * <p>IPv6: while a VIP is announced, its solicited-node group is joined on each interface (a
 * datagram socket membership), so multicast solicitations pass NIC filters and MLD-snooping
 * switches forward them.
 *
 * <p>Caveat outside this package: nothing else on the node may hold the VIP as a local address
 * (kube-proxy in IPVS mode binds LoadBalancer IPs to {@code kube-ipvs0}), or the kernel answers ARP
 * for it too, with or without this announcer.
 *
 * <p>Not closed in userspace: the gap between the last deadline check and the {@code send()} (a few
 * microseconds, longer only if the thread is paused exactly there). The fencing deadline given to
 * {@link dev.vipgress.speaker.l2.L2Announcer#announce} must leave that margin before another node
 * may take the VIP over.
 */
package dev.vipgress.speaker.l2;
