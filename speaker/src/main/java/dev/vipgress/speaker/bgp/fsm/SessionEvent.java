package dev.vipgress.speaker.bgp.fsm;

import dev.vipgress.speaker.bgp.codec.BgpMessage;
import dev.vipgress.speaker.bgp.codec.Notification;

/** Inputs of the FSM (RFC 4271 §8.1, grouped). Timers and the connection produce them. */
public sealed interface SessionEvent {
  /** ManualStart (Event 1). */
  record Start() implements SessionEvent {}

  /** ManualStop (Event 2): Cease / Administrative Shutdown with this message (RFC 8203). */
  record Stop(String message) implements SessionEvent {}

  /** A timer fired (Events 9-13). */
  record TimerExpired(Timer timer) implements SessionEvent {}

  /** The TCP connection is up (Events 16-17); {@code inbound} if the peer initiated it. */
  record Connected(boolean inbound) implements SessionEvent {}

  /** Our connection attempt failed, or the connection closed (Event 18). */
  record ConnectionLost(String why) implements SessionEvent {}

  /** A well-formed message arrived (Events 19-28). */
  record Received(BgpMessage message) implements SessionEvent {}

  /** A message failed to decode; the codec says which NOTIFICATION it earns (Events 21-22). */
  record Malformed(Notification notification, String why) implements SessionEvent {}

  /** Our OPEN lost the collision resolution (RFC 4271 §6.8): close with Cease 7. */
  record CollisionLost() implements SessionEvent {}
}
