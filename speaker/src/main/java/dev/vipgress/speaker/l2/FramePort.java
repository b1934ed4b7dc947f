package dev.vipgress.speaker.l2;

import dev.vipgress.speaker.announce.AnnouncerException;
import java.io.IOException;
import java.net.Inet6Address;
import java.util.function.Consumer;

/**
 * Raw Ethernet frames in and out of one interface. Received frames are handed, one at a time, to
 * the receiver on the port's own thread; {@link #send} may be called from any thread.
 */
interface FramePort extends AutoCloseable {

  /** Opens ports; the production one is {@link PcapPort#OPENER}. */
  interface Opener {
    /** Fails when the capture library cannot be loaded at all, saying how to install it. */
    void checkLibrary() throws AnnouncerException;

    /**
     * Opens {@code iface}. {@code onFailure} runs (on the port's thread) if receiving stops on its
     * own, for example because the interface was deleted.
     */
    FramePort open(String iface, Consumer<byte[]> receiver, Runnable onFailure)
        throws AnnouncerException;
  }

  void send(byte[] frame) throws IOException;

  /** False once receiving has stopped (failure or {@link #close}). */
  boolean isOpen();

  /**
   * Joins an IPv6 multicast group on the interface so that solicitations to the VIP's
   * solicited-node group pass the NIC's multicast filter (and MLD-snooping switches forward them).
   * Returns false when the group could not be joined.
   */
  boolean joinGroup(Inet6Address group);

  void leaveGroup(Inet6Address group);

  @Override
  void close();
}
