/**
 * netty transport of the BGP speaker: {@link dev.vipgress.speaker.bgp.transport.SessionChannel}
 * connects a session's FSM to a channel (codec pipeline, events in, messages out) and {@link
 * dev.vipgress.speaker.bgp.transport.EventLoopTicker} runs its timers on the same event loop. Not
 * yet wired into the daemon (no listener socket, no TCP MD5, no peer configuration).
 */
package dev.vipgress.speaker.bgp.transport;
