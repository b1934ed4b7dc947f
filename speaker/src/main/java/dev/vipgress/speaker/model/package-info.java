/**
 * The pure model: from what the cluster says (Services, EndpointSlices, Nodes, VIP owners) to what
 * this node must do. No I/O here; the reconciler feeds it snapshots and applies the result.
 */
package dev.vipgress.speaker.model;
