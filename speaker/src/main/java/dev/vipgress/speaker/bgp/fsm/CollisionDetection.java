package dev.vipgress.speaker.bgp.fsm;

import java.net.Inet4Address;
import java.util.Arrays;

/** Connection collision resolution (RFC 4271 §6.8), pure. */
public final class CollisionDetection {
  private CollisionDetection() {}

  /** Which of two connections to the same peer survives. */
  public enum Keep {
    /** The one the peer initiated. */
    INBOUND,
    /** The one we initiated. */
    OUTBOUND
  }

  /**
   * RFC 4271 §6.8: if our BGP identifier is lower (as an unsigned 32-bit number), the connection we
   * initiated is closed, else the one the peer initiated.
   */
  public static Keep resolve(Inet4Address local, Inet4Address remote) {
    return Arrays.compareUnsigned(local.getAddress(), remote.getAddress()) < 0
        ? Keep.INBOUND
        : Keep.OUTBOUND;
  }
}
