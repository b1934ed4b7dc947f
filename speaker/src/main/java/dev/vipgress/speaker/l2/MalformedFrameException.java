package dev.vipgress.speaker.l2;

/**
 * A frame that claims to be ARP or NDP but breaks the protocol's validity rules (RFC 826, RFC 4861
 * sections 7.1.1 and 7.1.2); it is dropped, never answered.
 */
public final class MalformedFrameException extends Exception {
  private static final long serialVersionUID = 1L;

  public MalformedFrameException(String message) {
    super(message);
  }
}
