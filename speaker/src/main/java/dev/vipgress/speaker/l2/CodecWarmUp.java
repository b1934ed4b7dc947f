package dev.vipgress.speaker.l2;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Runs the codec and the responder once so the first real request is not slowed by loading. */
final class CodecWarmUp {
  private CodecWarmUp() {}

  static void run() {
    try {
      VipTable t = new VipTable();
      NeighborResponder r = new NeighborResponder(t);
      Mac ours = new Mac(0x02_00_00_00_00_01L);
      Mac peer = new Mac(0x02_00_00_00_00_02L);
      Inet4Address v4 = (Inet4Address) InetAddress.getByName("192.0.2.1");
      Inet6Address v6 = (Inet6Address) InetAddress.getByName("2001:db8::1");
      long now = System.nanoTime();
      t.announce(v4, now + TimeUnit.MINUTES.toNanos(1), now);
      t.announce(v6, now + TimeUnit.MINUTES.toNanos(1), now);
      Inet4Address peer4 = (Inet4Address) InetAddress.getByName("192.0.2.2");
      Inet6Address peer6 = (Inet6Address) InetAddress.getByName("2001:db8::2");
      byte[] arp =
          FrameEncoder.encode(
              new ArpPacket(peer, Mac.BROADCAST, ArpPacket.REQUEST, peer, peer4, Mac.ZERO, v4));
      Inet6Address group = L2Constants.solicitedNode(v6);
      byte[] ns =
          FrameEncoder.encode(
              new NeighborSolicitation(
                  peer,
                  Mac.ipv6Multicast(group),
                  peer6,
                  group,
                  L2Constants.NDP_HOP_LIMIT,
                  v6,
                  Optional.of(peer)));
      r.onFrame(arp, arp.length, ours, now);
      r.onFrame(ns, ns.length, ours, now);
      L2Announcer.gratuitous(ours, v4);
      L2Announcer.gratuitous(ours, v6);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
