package dev.vipgress.speaker.bgp.fsm;

/** What one state handler decided: the next state and why (for logs and tests). */
public record Transition(SessionState next, String reason) {}
