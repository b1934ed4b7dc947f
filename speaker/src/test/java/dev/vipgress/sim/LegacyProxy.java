package dev.vipgress.sim;

import dev.vipgress.election.ElectionListener;
import java.util.Optional;
import java.util.Set;

/**
 * Bugs 2 and 3 put back: the listener proxy {@code Speaker} had before issue 10. It overrides only
 * {@code lost(String)}, so the loss reason never arrives ({@code DEADLINE} becomes {@code TAKEN})
 * and {@code lostAll} is the interface default: {@code lost} for each VIP, completed at once, so
 * the elector writes the release while the reconciler has only enqueued the withdrawal.
 */
final class LegacyProxy implements ElectionListener {
  private final ElectionListener target;

  LegacyProxy(ElectionListener target) {
    this.target = target;
  }

  @Override
  public void acquired(String vip, long deadline) {
    target.acquired(vip, deadline);
  }

  @Override
  public void renewed(String vip, long deadline) {
    target.renewed(vip, deadline);
  }

  @Override
  public void renewedAll(Set<String> vips, long deadline) {
    target.renewedAll(vips, deadline);
  }

  @Override
  public void lost(String vip) {
    target.lost(vip);
  }

  @Override
  public void ownerChanged(String vip, Optional<String> node) {
    target.ownerChanged(vip, node);
  }
}
