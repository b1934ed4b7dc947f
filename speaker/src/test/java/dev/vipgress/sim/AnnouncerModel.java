package dev.vipgress.sim;

import dev.vipgress.speaker.announce.Announcer;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The L2 announcer of one process, as the LAN sees it: it answers ARP/NS for a VIP only while the
 * process runs (not crashed, not frozen), its interface is up, and the VIP's deadline has not
 * passed on the machine's clock (L2Announcer checks the deadline on every packet).
 */
final class AnnouncerModel implements Announcer {
  private final SimProcess process;
  private final Map<InetAddress, Long> deadlines = new TreeMap<>(KernelModel::compare);
  private final List<Runnable> healthCallbacks = new ArrayList<>();
  private boolean closed;

  AnnouncerModel(SimProcess process) {
    this.process = process;
  }

  @Override
  public void start() {}

  @Override
  public void announce(InetAddress vip, long fencingDeadlineNanos) {
    if (!closed) {
      Long was = deadlines.put(vip, fencingDeadlineNanos);
      process.world.dirty = true;
      if (was == null && process.world.tracing()) {
        process.world.note(
            process.machine.name
                + " announcer: announce "
                + dev.vipgress.nat.Addresses.format(vip)
                + " deadline in "
                + (fencingDeadlineNanos - process.machine.localNanos()) / 1_000_000
                + " ms");
      }
    }
  }

  @Override
  public void withdraw(InetAddress vip) {
    if (deadlines.remove(vip) != null && process.world.tracing()) {
      process.world.note(
          process.machine.name + " announcer: withdraw " + dev.vipgress.nat.Addresses.format(vip));
    }
  }

  @Override
  public boolean healthy() {
    return process.machine.linkUp;
  }

  @Override
  public void onHealthChange(Runnable callback) {
    healthCallbacks.add(callback);
  }

  /** The interface went down or up: the announcer's health callbacks run on its own thread. */
  void healthChanged() {
    for (Runnable r : healthCallbacks) {
      process.post(process.world.micros(50, 2_000), "announcer health", r);
    }
  }

  @Override
  public void close() {
    closed = true;
    deadlines.clear();
  }

  /** Whether a neighbour asking for {@code vip} gets this node's MAC now. */
  boolean answers(InetAddress vip) {
    Long d = deadlines.get(vip);
    return d != null
        && process.running()
        && process.machine.linkUp
        && d - process.machine.localNanos() > 0;
  }
}
