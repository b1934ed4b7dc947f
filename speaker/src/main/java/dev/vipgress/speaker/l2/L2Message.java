package dev.vipgress.speaker.l2;

/**
 * An Ethernet frame carrying an address-resolution message: ARP (IPv4) or an NDP neighbour
 * solicitation / advertisement (IPv6). Immutable; encoded by {@link FrameEncoder}, decoded by
 * {@link FrameDecoder}.
 */
public sealed interface L2Message permits ArpPacket, NeighborSolicitation, NeighborAdvertisement {
  /** Ethernet source address. */
  Mac ethSource();

  /** Ethernet destination address. */
  Mac ethDestination();
}
