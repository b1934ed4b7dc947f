package dev.vipgress.nat;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Set;

/**
 * A VIP this node owns.
 *
 * @param vip the VIP, on no interface
 * @param backends every backend pod IP of the VIP's Services, local and remote; only those of the
 *     VIP's family are used
 * @param deadlineNanos {@link System#nanoTime()} value at which this node must have stopped SNATing
 *     to and accepting traffic for the VIP unless {@link NftBackend#refresh} moved it on
 * @param scope destinations to SNAT; empty means everything outside the cluster ranges
 */
public record OwnedVip(
    InetAddress vip, Set<InetAddress> backends, long deadlineNanos, Set<Cidr> scope) {
  public OwnedVip {
    Objects.requireNonNull(vip, "vip");
    backends = Set.copyOf(backends);
    scope = Set.copyOf(scope);
  }

  public OwnedVip(InetAddress vip, Set<InetAddress> backends, long deadlineNanos) {
    this(vip, backends, deadlineNanos, Set.of());
  }

  /**
   * The record's hash, mixed: the default one of VIPs with one backend each numbered alike (VIP
   * {@code n}, pod {@code n}) steps by 32, and the immutable sets {@code NodeDesired} copies into
   * probe linearly — 50,000 such VIPs took most of a second to put in a set.
   */
  @Override
  public int hashCode() {
    int h = vip.hashCode();
    h = 31 * h + backends.hashCode();
    h = 31 * h + Long.hashCode(deadlineNanos);
    h = 31 * h + scope.hashCode();
    // murmur3's finaliser: every input bit moves every output bit
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }

  public Family family() {
    return Family.of(vip);
  }
}
