package dev.vipgress.speaker.bgp.fsm;

/** The six states of the BGP finite state machine (RFC 4271 §8.2.2). */
public sealed interface SessionState {
  /** Refuses connections; waits for a start (manual, or automatic after the backoff). */
  record Idle() implements SessionState {}

  /** Waiting for our outbound TCP connection (ConnectRetryTimer running). */
  record Connect() implements SessionState {}

  /** Waiting for the peer to connect to us (ConnectRetryTimer running unless passive). */
  record Active() implements SessionState {}

  /** Our OPEN is sent; waiting for the peer's (HoldTimer at its large initial value). */
  record OpenSent() implements SessionState {}

  /** Both OPENs exchanged and valid; waiting for the peer's KEEPALIVE. */
  record OpenConfirm(Negotiated negotiated) implements SessionState {}

  /** Routes may be exchanged. */
  record Established(Negotiated negotiated, long sinceNanos) implements SessionState {}

  static String name(SessionState s) {
    return s.getClass().getSimpleName();
  }
}
