package dev.vipgress.speaker.reconcile;

import dev.vipgress.nat.ApplyResult;
import dev.vipgress.nat.NodeDesired;
import dev.vipgress.speaker.announce.Announcer;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.ServiceKey;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Fakes for the reconciler's I/O edge that record what they were asked, in one log: {@code announce
 * VIP}, {@code withdraw VIP}, {@code apply owned=[..] steered=[..]}, {@code natClose}.
 */
public final class FakeEdge {
  public final List<String> log = new ArrayList<>();
  public final List<String> events = new ArrayList<>();
  public final List<NodeDesired> applied = new ArrayList<>();
  public final AtomicReference<ClusterView> view;
  public boolean healthy = true;

  /** Which VIPs the announcer can announce while healthy (BGP: the families its sessions carry). */
  public java.util.function.Predicate<InetAddress> carries = vip -> true;

  public boolean announcerClosed;

  /**
   * What the datapath refuses of every apply while it holds anything (everything else is taken).
   */
  public final List<ApplyResult.Refused> refuse = new ArrayList<>();

  /**
   * What the daemon asked to be told when the kernel changes under the datapath (null: nothing).
   */
  public Runnable kernelWatch;

  public FakeEdge(ClusterView initial) {
    view = new AtomicReference<>(initial);
  }

  public ClusterSource cluster() {
    return new ClusterSource() {
      @Override
      public boolean synced() {
        return true;
      }

      @Override
      public ClusterView view() {
        return view.get();
      }

      @Override
      public void onChange(Runnable callback) {}
    };
  }

  public Reporter reporter() {
    return new Reporter() {
      @Override
      public void event(ServiceKey svc, boolean warning, String reason, String message) {
        events.add(svc.name() + " " + reason);
      }

      @Override
      public void annotateOwner(ServiceKey svc) {
        events.add(svc.name() + " annotated");
      }
    };
  }

  public Datapath datapath() {
    return new Datapath() {
      @Override
      public ApplyResult apply(NodeDesired d) {
        applied.add(d);
        log.add("apply owned=" + d.owned().size() + " steered=" + d.steering().size());
        return new ApplyResult(refuse);
      }

      @Override
      public void refresh(NodeDesired d) {
        log.add("refresh");
      }

      @Override
      public void close(boolean handingOver) {
        log.add("natClose handingOver=" + handingOver);
      }

      @Override
      public AutoCloseable watchKernel(Runnable onChange) {
        kernelWatch = onChange;
        return () -> log.add("kernelWatchClosed");
      }
    };
  }

  public Announcer announcer() {
    return new Announcer() {
      @Override
      public void start() {}

      @Override
      public void announce(InetAddress vip, long deadline) {
        log.add("announce " + vip.getHostAddress());
      }

      @Override
      public void withdraw(InetAddress vip) {
        log.add("withdraw " + vip.getHostAddress());
      }

      @Override
      public boolean healthy() {
        return healthy;
      }

      @Override
      public boolean canAnnounce(InetAddress vip) {
        return healthy && carries.test(vip);
      }

      @Override
      public void onHealthChange(Runnable callback) {}

      @Override
      public void close() {
        announcerClosed = true;
      }
    };
  }
}
