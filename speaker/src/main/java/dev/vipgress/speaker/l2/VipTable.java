package dev.vipgress.speaker.l2;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The VIPs this node was told to announce, each with its fencing deadline on the {@link
 * System#nanoTime()} clock. Thread-safe; read on every received request, so a lookup is one hash
 * probe and no lock.
 *
 * <p>A VIP is <em>live</em> while it is in the table and {@code now < deadline}. The deadline is
 * compared with the clock of the moment the question is asked, so a thread that was frozen past the
 * deadline sees it as passed when it resumes.
 */
final class VipTable {

  /** What the table says about one address at one instant. */
  enum Status {
    /** Not announced by this node. */
    NOT_OWNED,
    /** Announced, but the fencing deadline has passed: must not be answered. */
    FENCED,
    /** Announced and before its deadline. */
    LIVE
  }

  /**
   * One announced VIP. {@code term} changes on every takeover so that a GARP burst started for an
   * earlier term stops when the VIP was withdrawn and announced again meanwhile.
   */
  record Entry(InetAddress vip, long deadlineNanos, long term) {
    boolean liveAt(long nowNanos) {
      return nowNanos - deadlineNanos < 0;
    }
  }

  /** The result of {@link #announce}: the entry now in force and whether it was a takeover. */
  record Announced(Entry entry, boolean takeover) {}

  private final ConcurrentHashMap<InetAddress, Entry> entries = new ConcurrentHashMap<>();
  private long nextTerm = 1;

  /**
   * Records {@code vip} with a deadline. A takeover is an announcement of a VIP that was absent or
   * whose deadline had passed: the caller sends a gratuitous burst then. Otherwise the deadline is
   * replaced (normally extended; a shorter one is honoured too, the caller knows its lease).
   */
  synchronized Announced announce(InetAddress vip, long deadlineNanos, long nowNanos) {
    InetAddress key = canonical(vip);
    Entry old = entries.get(key);
    boolean takeover = old == null || !old.liveAt(nowNanos);
    Entry e = new Entry(key, deadlineNanos, takeover ? nextTerm++ : old.term());
    entries.put(key, e);
    return new Announced(e, takeover);
  }

  /** Removes {@code vip}; true when it was there. */
  boolean withdraw(InetAddress vip) {
    return entries.remove(canonical(vip)) != null;
  }

  Status status(InetAddress address, long nowNanos) {
    Entry e = entries.get(address);
    if (e == null) {
      return Status.NOT_OWNED;
    }
    return e.liveAt(nowNanos) ? Status.LIVE : Status.FENCED;
  }

  /** True while the entry of this term is still in force (not withdrawn, not re-taken, live). */
  boolean liveInTerm(InetAddress vip, long term, long nowNanos) {
    Entry e = entries.get(vip);
    return e != null && e.term() == term && e.liveAt(nowNanos);
  }

  /** A snapshot of the entries. */
  List<Entry> entries() {
    return List.copyOf(entries.values());
  }

  void clear() {
    entries.clear();
  }

  /** Strips host names and scope ids so that equal addresses are equal keys. */
  static InetAddress canonical(InetAddress a) {
    try {
      return InetAddress.getByAddress(a.getAddress());
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
