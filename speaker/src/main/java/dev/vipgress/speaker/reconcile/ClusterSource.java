package dev.vipgress.speaker.reconcile;

import dev.vipgress.speaker.k8s.ClusterWatch;
import dev.vipgress.speaker.model.ClusterView;

/** Snapshots of the watched cluster objects ({@link ClusterWatch} in the daemon). */
public interface ClusterSource {
  /** Whether the first list of every watch has arrived. */
  boolean synced();

  ClusterView view();

  static ClusterSource of(ClusterWatch watch) {
    return new ClusterSource() {
      @Override
      public boolean synced() {
        return watch.synced();
      }

      @Override
      public ClusterView view() {
        return watch.view();
      }
    };
  }
}
