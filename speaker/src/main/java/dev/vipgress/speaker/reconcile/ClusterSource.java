package dev.vipgress.speaker.reconcile;

import dev.vipgress.speaker.model.ClusterView;

/** Snapshots of the watched cluster objects (the informers of {@code k8s.ClusterWatch}). */
public interface ClusterSource {
  /** Whether the first list of every watch has arrived. */
  boolean synced();

  ClusterView view();

  /** Registers a callback run after any change; it must not block (enqueue and return). */
  void onChange(Runnable callback);
}
