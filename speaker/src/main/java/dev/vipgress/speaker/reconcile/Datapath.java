package dev.vipgress.speaker.reconcile;

import dev.vipgress.nat.NftBackend;
import dev.vipgress.nat.NodeDesired;

/**
 * What the reconciler needs of the node's egress datapath (the nat module's {@link NftBackend}).
 */
public interface Datapath {
  /** Level-triggered: make the kernel hold {@code desired}, atomically. */
  void apply(NodeDesired desired);

  /** Re-arm the expiring state of the owned VIPs with their new deadlines. */
  void refresh(NodeDesired desired);

  /** Remove everything (unless handing over). */
  void close(boolean handingOver);

  static Datapath of(NftBackend nft) {
    return new Datapath() {
      @Override
      public void apply(NodeDesired desired) {
        nft.apply(desired);
      }

      @Override
      public void refresh(NodeDesired desired) {
        nft.refresh(desired);
      }

      @Override
      public void close(boolean handingOver) {
        nft.close(handingOver);
      }
    };
  }
}
