/**
 * Kubernetes I/O of the speaker: informers that turn watched objects into the model's records, and
 * the writers of Events and the owner annotation. Callbacks here only enqueue.
 */
package dev.vipgress.speaker.k8s;
