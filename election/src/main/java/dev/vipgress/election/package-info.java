/**
 * Per-VIP ownership on Kubernetes Leases.
 *
 * <p>One {@code Lease} per VIP address records its holder node; one liveness {@code Lease} per node
 * vouches for every VIP Lease that node holds, so the steady-state load on the API server depends
 * on the number of nodes, not on the number of VIPs. {@link dev.vipgress.election.LeaseElector} is
 * the entry point; the protocol (naming, liveness, fencing, placement) is described there.
 *
 * <p>This package must not depend on the datapath (netty, nftables, ARP, BGP): it only decides who
 * owns what and until when.
 */
package dev.vipgress.election;
