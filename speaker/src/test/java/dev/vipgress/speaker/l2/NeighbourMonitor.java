package dev.vipgress.speaker.l2;

import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Optional;

/** {@code ip -ts monitor neigh} in a lab host: when did a neighbour entry change, to what. */
final class NeighbourMonitor implements AutoCloseable {
  private final LineProcess monitor;

  private NeighbourMonitor(LineProcess monitor) {
    this.monitor = monitor;
  }

  static NeighbourMonitor start(String netns) throws InterruptedException {
    LineProcess p =
        LineProcess.inNetns("neigh-" + netns, netns, List.of("ip", "-ts", "monitor", "neigh"));
    Thread.sleep(200); // netlink subscription is immediate; give the process time to exec
    return new NeighbourMonitor(p);
  }

  int mark() {
    return monitor.size();
  }

  /**
   * Waits for an event (at index {@code from} or later) saying {@code ip} is at {@code mac};
   * returns its timestamp in epoch µs.
   */
  Optional<Long> awaitEntry(int from, String ip, Mac mac, Duration timeout)
      throws InterruptedException {
    String needle = "] " + ip + " dev ";
    String lladdr = "lladdr " + mac + " ";
    return monitor
        .await(from, l -> l.contains(needle) && l.contains(lladdr), timeout)
        .map(NeighbourMonitor::epochMicros);
  }

  /** {@code [2026-11-22T10:46:14.345119] ...} in the local time zone, as iproute2 prints it. */
  static long epochMicros(String line) {
    String ts = line.substring(1, line.indexOf(']'));
    ZonedDateTime t = LocalDateTime.parse(ts).atZone(ZoneId.systemDefault());
    return t.toEpochSecond() * 1_000_000 + t.getNano() / 1_000;
  }

  @Override
  public void close() {
    monitor.close();
  }
}
