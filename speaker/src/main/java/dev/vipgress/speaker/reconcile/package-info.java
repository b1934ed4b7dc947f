/**
 * The one thread that owns kernel and announcement state. Watches and election callbacks enqueue;
 * {@link dev.vipgress.speaker.reconcile.Reconciler} computes the desired state and applies it in
 * the order of the ownership transition (architecture.md).
 */
package dev.vipgress.speaker.reconcile;
