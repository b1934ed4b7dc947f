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
 * {@code VIP/32 dev lo} route, {@code proxy_delay=0}) keeps answering after the process is gone and
 * needs a second piece of kernel state that expires on its own (an nftables {@code arp} output
 * filter with a timeout set, refreshed in a delete+add transaction, see datapath.md) plus a route
 * per VIP and, for IPv6, proxy NDP entries; state the daemon must also clean up at start. The price
 * of userspace is latency (numbers in the package's README / report): tens to hundreds of
 * microseconds per answer instead of single microseconds, paid once per neighbour cache entry
 * refresh, not per packet; and it needs CAP_NET_RAW. Gratuitous frames need pcap either way.
 *
 * <p>Not closed in userspace: the gap between the last deadline check and the {@code send()} (a few
 * microseconds, longer only if the thread is paused exactly there). The fencing deadline given to
 * {@link dev.vipgress.speaker.l2.L2Announcer#announce} must leave that margin before another node
 * may take the VIP over.
 */
package dev.vipgress.speaker.l2;
