package dev.vipgress.speaker.model;

/**
 * Something wrong with a Service that an operator must fix; it becomes a Warning Event on the
 * Service and a log line, and never affects other VIPs.
 *
 * @param reason the Event reason (CamelCase)
 * @param message what is wrong and what to do
 */
public record Problem(ServiceKey service, String reason, String message) {}
