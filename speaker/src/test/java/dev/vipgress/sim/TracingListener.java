package dev.vipgress.sim;

import dev.vipgress.election.ElectionListener;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;

/** Puts every election event of one process into the replay trace, then passes it on whole. */
final class TracingListener implements ElectionListener {
  private final ElectionListener target;
  private final SimProcess process;

  TracingListener(ElectionListener target, SimProcess process) {
    this.target = target;
    this.process = process;
  }

  private void note(String s) {
    if (process.world.tracing()) {
      process.world.note(process.machine.name + " elector: " + s);
    }
  }

  @Override
  public void acquired(String vip, long deadline) {
    note(
        "acquired "
            + vip
            + " deadline in "
            + (deadline - process.machine.localNanos()) / 1_000_000
            + " ms");
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
    note("lost " + vip);
    target.lost(vip);
  }

  @Override
  public void lost(String vip, LossReason reason) {
    note("lost " + vip + " " + reason);
    target.lost(vip, reason);
  }

  @Override
  public CompletionStage<Void> lostAll(Set<String> vips, LossReason reason) {
    note("lostAll " + new TreeSet<>(vips) + " " + reason);
    return target.lostAll(vips, reason);
  }

  @Override
  public void ownerChanged(String vip, Optional<String> node) {
    note("ownerChanged " + vip + " -> " + node.orElse("-"));
    target.ownerChanged(vip, node);
  }
}
