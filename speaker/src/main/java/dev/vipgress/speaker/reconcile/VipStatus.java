package dev.vipgress.speaker.reconcile;

import java.util.List;

/** One VIP as {@code vipgress status} shows it. */
public record VipStatus(
    String vip,
    String mode,
    String owner,
    boolean ownedHere,
    boolean egress,
    List<String> services,
    List<String> backends,
    String egressState) {}
