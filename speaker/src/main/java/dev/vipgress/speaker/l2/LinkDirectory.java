package dev.vipgress.speaker.l2;

import java.util.List;
import java.util.Optional;

/** Reads the network interfaces of this network namespace. */
interface LinkDirectory {

  /** What one interface looks like now. */
  record Link(String name, Mac mac, int arpHardwareType, boolean up) {
    /** ARPHRD_ETHER from linux/if_arp.h: the only link type ARP/NDP frames are built for. */
    static final int ARPHRD_ETHER = 1;

    boolean isEthernet() {
      return arpHardwareType == ARPHRD_ETHER;
    }
  }

  /** Names of all interfaces; empty when they cannot be read. */
  List<String> names();

  /** The interface now, or empty when it does not exist (any more). */
  Optional<Link> link(String name);

  /** Only whether it is up (cheaper than {@link #link}); empty when it does not exist. */
  default Optional<Boolean> isUp(String name) {
    return link(name).map(Link::up);
  }
}
