package dev.vipgress.election;

import java.util.Map;
import java.util.Objects;

/**
 * What the Leases say about who holds a VIP now: follows the VIP Lease's holder, and the handoff
 * records of ended incarnations, to the node that holds it. Every node computes the same answer
 * from the same objects (a chain longer than {@link #MAX_CHAIN} counts as free for everyone alike).
 * Pure apart from the {@link View} it reads; loop-confined.
 */
final class OwnershipResolver {
  /** Longest chain of handoffs followed (deterministic for every node). */
  static final int MAX_CHAIN = 8;

  /** Where a VIP stands for this node. */
  enum HolderState {
    /** Nobody holds it validly: it may be taken. */
    FREE,
    /** This node holds it under its current incarnation. */
    MINE,
    /** A live peer holds it. */
    HELD,
    /** A peer holds it but has lapsed: fence that peer first. */
    NEEDS_FENCE
  }

  /** Who holds a VIP in this node's view: its Lease's holder ({@code direct}), or an heir. */
  record Resolved(HolderState state, String holder, boolean direct) {}

  /** What the resolver reads: this node's identity and its view of the liveness Leases. */
  interface View {
    String self();

    String incarnation();

    /** Handoff records on this node's own liveness Lease. */
    Map<String, Handoffs.Entry> ownHandoffs();

    /** The peer {@code node} (recorded if it was not known yet). */
    Peer peer(String node);

    boolean lapsed(Peer p);
  }

  private OwnershipResolver() {}

  /** The holder of {@code v}, starting from {@code holder} under incarnation {@code inc}. */
  static Resolved resolve(String v, String holder, String inc, View view) {
    for (int depth = 0; depth < MAX_CHAIN; depth++) {
      boolean direct = depth == 0;
      if (holder.isEmpty()) {
        return new Resolved(HolderState.FREE, "", direct);
      }
      Handoffs.Entry entry;
      if (holder.equals(view.self())) {
        if (view.incarnation().equals(inc)) {
          return new Resolved(HolderState.MINE, holder, direct);
        }
        entry = view.ownHandoffs().get(inc);
      } else {
        Peer p = view.peer(holder);
        if (!p.sameProtocol()) {
          return new Resolved(HolderState.HELD, holder, direct); // its rules may differ
        }
        if (!p.present()) {
          if (p.referencedIncarnation == null) {
            p.referencedIncarnation = inc;
          }
          return held(p, holder, direct, view);
        }
        if (!p.fenced() && Objects.equals(inc, p.incarnation())) {
          return held(p, holder, direct, view);
        }
        entry = p.handoffs().get(inc);
      }
      if (entry == null) {
        return new Resolved(HolderState.FREE, holder, direct);
      }
      String[] heir = entry.heirOf(v);
      holder = heir[0];
      inc = heir[1];
    }
    return new Resolved(HolderState.FREE, "", false);
  }

  private static Resolved held(Peer p, String holder, boolean direct, View view) {
    return new Resolved(
        view.lapsed(p) ? HolderState.NEEDS_FENCE : HolderState.HELD, holder, direct);
  }
}
