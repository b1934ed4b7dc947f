package dev.vipgress.speaker.model;

/** One endpoint address of a Service's EndpointSlices and the node it runs on (may be null). */
public record EndpointInfo(String ip, String nodeName) {}
