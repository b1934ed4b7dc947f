/**
 * The node's egress datapath: one nftables table ({@code inet vipgress}) whose sets and maps SNAT
 * the backend pods of the VIPs this node owns, steer local backend pods of VIPs owned elsewhere to
 * their owner (fwmark + one routing table per owner node), guard the owner against stale flows and
 * fence every owned VIP at its deadline in the kernel itself.
 *
 * <p>Layers: the pure model ({@link dev.vipgress.nat.NodeDesired} and friends), the pure {@link
 * dev.vipgress.nat.NatPlan} and {@link dev.vipgress.nat.NftRenderer} (golden-file tested), and the
 * applier {@link dev.vipgress.nat.NftBackend} that talks to {@code nft}, {@code ip} and {@code
 * conntrack} through a {@link dev.vipgress.nat.CommandRunner}.
 */
package dev.vipgress.nat;
