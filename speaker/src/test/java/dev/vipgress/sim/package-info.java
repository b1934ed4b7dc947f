/**
 * Deterministic simulation of the ownership protocol: the real elector and the real reconciler of
 * several nodes on one simulated clock, one seeded scheduler and an in-memory API server, under a
 * seeded storm of faults; the invariants are read from fake kernels and announcers (what a packet
 * would see). {@code make sim} runs the budget, {@code make sim SEED=n} replays one seed. See
 * README.md in this directory.
 */
package dev.vipgress.sim;
