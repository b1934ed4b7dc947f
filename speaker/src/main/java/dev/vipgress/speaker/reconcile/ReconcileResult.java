package dev.vipgress.speaker.reconcile;

import java.time.Duration;
import java.util.List;

/** What one reconcile pass came to: an explicit value, not an exception plus a field. */
public sealed interface ReconcileResult {

  /** The node holds what the plan asks for. */
  record Done() implements ReconcileResult {}

  /** Nothing to do yet ({@code why}: the watches have not synced, the reconciler is closed). */
  record Waiting(String why) implements ReconcileResult {}

  /**
   * Some parts failed; everything else was applied. Retry after {@code after}.
   *
   * @param failed what failed, each naming the element and why (for logs and tests)
   */
  record Retry(Duration after, List<Failure> failed) implements ReconcileResult {
    public Retry {
      failed = List.copyOf(failed);
    }
  }

  /**
   * One element that failed.
   *
   * @param what the element: {@code announce 192.0.2.1}, {@code datapath}, ...
   * @param error why
   */
  record Failure(String what, String error) {}
}
