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

  public Family family() {
    return Family.of(vip);
  }
}
