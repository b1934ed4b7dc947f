package dev.vipgress.speaker.bgp.fsm;

import dev.vipgress.speaker.bgp.codec.BgpMessage;

/**
 * The connection side of a session (a netty channel in production, a fake in tests). Results come
 * back as {@link SessionEvent}s.
 */
public interface SessionIo {
  /** Starts an outbound connection attempt: later {@code Connected} or {@code ConnectionLost}. */
  void connect();

  void send(BgpMessage message);

  /** Closes the connection (after flushing what was sent). */
  void disconnect();
}
