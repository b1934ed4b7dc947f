package dev.vipgress.speaker.reconcile;

import dev.vipgress.election.LeaseElector;
import java.util.Set;

/** What the reconciler tells the election (the election module's {@link LeaseElector}). */
public interface Candidacy {
  /** The VIPs this node competes for. */
  void setCandidacy(Set<String> vips);

  /** Node-level eligibility; false hands every owned VIP over at once. */
  void setHealthy(boolean healthy);

  /** Release every owned VIP so a peer takes over immediately. */
  void close();

  static Candidacy of(LeaseElector elector) {
    return new Candidacy() {
      @Override
      public void setCandidacy(Set<String> vips) {
        elector.setCandidacy(vips);
      }

      @Override
      public void setHealthy(boolean healthy) {
        elector.setHealthy(healthy);
      }

      @Override
      public void close() {
        elector.close();
      }
    };
  }
}
