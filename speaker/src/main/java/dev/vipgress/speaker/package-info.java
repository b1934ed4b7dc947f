/**
 * The vipgress daemon: {@link dev.vipgress.speaker.Main} parses flags and wires the parts; the
 * reconciler owns all kernel and announcement state; watches only enqueue.
 */
package dev.vipgress.speaker;
