package dev.vipgress.speaker.bgp.fsm;

/** The session timers (RFC 4271 §8, §10). */
public enum Timer {
  /** Between outbound connection attempts (default 120 s, §10). */
  CONNECT_RETRY,
  /** Time without KEEPALIVE or UPDATE after which the peer is declared dead. */
  HOLD,
  /** Our KEEPALIVE interval. */
  KEEPALIVE,
  /** The backoff (with jitter) before an automatic restart from Idle (§8.1.1 IdleHoldTimer). */
  IDLE_HOLD
}
