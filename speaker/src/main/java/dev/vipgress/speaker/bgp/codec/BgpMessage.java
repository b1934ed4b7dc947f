package dev.vipgress.speaker.bgp.codec;

/** One BGP message (RFC 4271 §4), immutable; the session layer sees only these. */
public sealed interface BgpMessage permits Open, Update, Keepalive, Notification, RouteRefresh {
  /** The message type octet of the header (RFC 4271 §4.1). */
  int type();
}
