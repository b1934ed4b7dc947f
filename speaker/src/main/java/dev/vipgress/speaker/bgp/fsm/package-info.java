/**
 * The BGP session layer (RFC 4271 §8): {@link dev.vipgress.speaker.bgp.fsm.BgpSession} runs the six
 * states of {@link dev.vipgress.speaker.bgp.fsm.SessionState}, one handler per state returning a
 * {@link dev.vipgress.speaker.bgp.fsm.Transition}; timers come from a {@link
 * dev.vipgress.speaker.bgp.fsm.Ticker} (the event loop, or a fake clock in tests); the connection
 * is a {@link dev.vipgress.speaker.bgp.fsm.SessionIo}. {@link
 * dev.vipgress.speaker.bgp.fsm.PeerSessions} resolves connection collisions (§6.8). Nothing here
 * blocks or owns a thread.
 */
package dev.vipgress.speaker.bgp.fsm;
