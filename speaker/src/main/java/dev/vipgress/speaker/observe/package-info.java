/** Observability: Prometheus metrics, /healthz, /readyz and /status over HTTP. */
package dev.vipgress.speaker.observe;
