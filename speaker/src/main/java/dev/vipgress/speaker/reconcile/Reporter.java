package dev.vipgress.speaker.reconcile;

import dev.vipgress.speaker.k8s.ServiceWriter;
import dev.vipgress.speaker.model.ServiceKey;

/** Where the reconciler reports to operators: Events and the owner annotation on Services. */
public interface Reporter {
  void event(ServiceKey svc, boolean warning, String reason, String message);

  void annotateOwner(ServiceKey svc);

  /** The Service is gone: forget what was reported about it. */
  default void forget(ServiceKey svc) {}

  static Reporter of(ServiceWriter writer) {
    return new Reporter() {
      @Override
      public void event(ServiceKey svc, boolean warning, String reason, String message) {
        writer.event(svc, warning, reason, message);
      }

      @Override
      public void annotateOwner(ServiceKey svc) {
        writer.annotateOwner(svc);
      }

      @Override
      public void forget(ServiceKey svc) {
        writer.forget(svc);
      }
    };
  }
}
