package dev.vipgress.speaker.bgp.codec;

/** KEEPALIVE (RFC 4271 §4.4): the header alone. */
public record Keepalive() implements BgpMessage {
  public static final Keepalive INSTANCE = new Keepalive();

  @Override
  public int type() {
    return BgpConstants.TYPE_KEEPALIVE;
  }
}
