package dev.vipgress.speaker.reconcile;

import dev.vipgress.nat.ApplyResult;
import dev.vipgress.nat.NftBackend;
import dev.vipgress.nat.NodeDesired;
import java.util.Map;

/**
 * What the reconciler needs of the node's egress datapath (the nat module's {@link NftBackend}).
 */
public interface Datapath {
  /**
   * Level-triggered: make the kernel hold {@code desired}.
   *
   * @return the elements the kernel (or the plan) refused; everything else is in place
   * @throws RuntimeException when the whole apply failed (the previous state is still in place)
   */
  ApplyResult apply(NodeDesired desired);

  /** Re-arm the expiring state of the owned VIPs with their new deadlines. */
  void refresh(NodeDesired desired);

  /**
   * Where the heartbeat reads each owned VIP's latest deadline right before it commits (see {@link
   * NftBackend#latestDeadlines}): VIP text → deadline, written by the election's thread. Default:
   * only the deadlines of each {@link NodeDesired}.
   */
  default void latestDeadlines(Map<String, Long> source) {}

  /** Remove everything (unless handing over). */
  void close(boolean handingOver);

  static Datapath of(NftBackend nft) {
    return new Datapath() {
      @Override
      public ApplyResult apply(NodeDesired desired) {
        return nft.apply(desired);
      }

      @Override
      public void refresh(NodeDesired desired) {
        nft.refresh(desired);
      }

      @Override
      public void latestDeadlines(Map<String, Long> source) {
        nft.latestDeadlines(source);
      }

      @Override
      public void close(boolean handingOver) {
        nft.close(handingOver);
      }
    };
  }
}
