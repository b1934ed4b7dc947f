package dev.vipgress.speaker.l2;

import java.net.Inet6Address;
import java.util.HashSet;
import java.util.Set;

/** One announcing interface. Fields written by the announcer's scheduler thread, read by any. */
final class Iface {
  final String name;
  volatile FramePort port;
  volatile Mac mac = Mac.ZERO;

  /** Link up and capture running: what {@link L2Announcer#healthy()} is made of. */
  volatile boolean up;

  long reopenAfterNanos;
  final Set<Inet6Address> groups = new HashSet<>();

  Iface(String name) {
    this.name = name;
  }

  boolean portOpen() {
    FramePort p = port;
    return p != null && p.isOpen();
  }
}
