package dev.vipgress.speaker.model;

import java.net.InetAddress;

/** A backend pod of a VIP: its address and the node it runs on. */
public record Backend(InetAddress ip, String node) {}
