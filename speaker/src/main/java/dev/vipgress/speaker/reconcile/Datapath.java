package dev.vipgress.speaker.reconcile;

import dev.vipgress.nat.ApplyResult;
import dev.vipgress.nat.CommandRunner;
import dev.vipgress.nat.NftBackend;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.nat.ProcessCommandRunner;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

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

  /**
   * Watches the kernel state this datapath owns and calls {@code onChange} (on a thread of its own:
   * it must only enqueue) when some of it may have changed under it — a link, a route or rule of
   * the steering tables, the nft table deleted by hand; the next {@link #apply} re-reads what
   * changed from the kernel and restores it. Our own writes are reported too: the apply they cause
   * finds nothing to do and writes nothing.
   *
   * @return the running watch; closing it stops it
   */
  default AutoCloseable watchKernel(Runnable onChange) {
    return () -> {};
  }

  static Datapath of(NftBackend nft) {
    return new Datapath() {
      /** Set on the watch's thread; the next apply or refresh re-reads the whole table. */
      private final AtomicBoolean tableChanged = new AtomicBoolean();

      @Override
      public ApplyResult apply(NodeDesired desired) {
        reread();
        return nft.apply(desired);
      }

      @Override
      public void refresh(NodeDesired desired) {
        reread();
        nft.refresh(desired);
      }

      private void reread() {
        if (tableChanged.getAndSet(false)) {
          nft.invalidate();
        }
      }

      @Override
      public void latestDeadlines(Map<String, Long> source) {
        nft.latestDeadlines(source);
      }

      @Override
      public void close(boolean handingOver) {
        nft.close(handingOver);
      }

      /**
       * Links, routes and rules through {@link NftBackend#watchKernel}; the table through {@code
       * nft monitor destroy tables} (a deleted table, {@code nft flush ruleset}), which the ip
       * monitor cannot see. Only deletions: the elements every apply adds and removes print nothing
       * there.
       */
      @Override
      public AutoCloseable watchKernel(Runnable onChange) {
        CommandRunner.Watch paths = nft.watchKernel(onChange);
        String mine = "table inet " + nft.config().table();
        CommandRunner.Watch table =
            new ProcessCommandRunner()
                .watch(
                    List.of(nft.config().nft(), "monitor", "destroy", "tables"),
                    line -> {
                      // "" : the monitor restarted, a deletion may have been missed
                      if (line.isBlank() || line.strip().endsWith(mine)) {
                        tableChanged.set(true);
                        onChange.run();
                      }
                    });
        return () -> {
          table.close();
          paths.close();
        };
      }
    };
  }
}
