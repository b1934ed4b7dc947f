package dev.vipgress.speaker.reconcile;

import dev.vipgress.speaker.model.ServiceKey;

/**
 * Where the reconciler reports to operators: Events and the owner annotation on Services ({@code
 * k8s.ServiceWriter} in the daemon).
 */
public interface Reporter {
  void event(ServiceKey svc, boolean warning, String reason, String message);

  void annotateOwner(ServiceKey svc);

  /**
   * The Service no longer has a VIP anyone announces (relabelled, its VIP removed): remove the
   * owner annotation, but only while it still names this node (a new owner may have written it).
   */
  default void disownOwner(ServiceKey svc) {}

  /** The Service is gone: forget what was reported about it. */
  default void forget(ServiceKey svc) {}
}
