package dev.vipgress.speaker.reconcile;

import dev.vipgress.election.LeaseElector;
import java.util.Set;
import java.util.function.Supplier;

/** What the reconciler tells the election (the election module's {@link LeaseElector}). */
public interface Candidacy {
  /** The VIPs this node competes for. */
  void setCandidacy(Set<String> vips);

  /** Node-level eligibility; false hands every owned VIP over at once. */
  void setHealthy(boolean healthy);

  /**
   * Release every owned VIP so a peer takes over immediately; returns once the releases are written
   * (the elector waits for {@link Reconciler#lostAll} to complete first) or its timeout passed.
   */
  void close();

  /**
   * The elector as a candidacy. It is built after the reconciler that listens to it, so it is
   * looked up at each call (the reconciler calls only from its loop, after {@code start}).
   */
  static Candidacy of(Supplier<LeaseElector> elector) {
    return new Candidacy() {
      @Override
      public void setCandidacy(Set<String> vips) {
        elector.get().setCandidacy(vips);
      }

      @Override
      public void setHealthy(boolean healthy) {
        elector.get().setHealthy(healthy);
      }

      @Override
      public void close() {
        elector.get().close();
      }
    };
  }
}
