package dev.vipgress.speaker.model;

/** The opt-in API: labels and annotations under {@code vipgress.dev/}. */
public final class Labels {
  public static final String ANNOUNCE = "vipgress.dev/announce";
  public static final String EGRESS = "vipgress.dev/egress";
  public static final String OWNER_ANNOTATION = "vipgress.dev/owner";
  public static final String EXCLUDE_LB = "node.kubernetes.io/exclude-from-external-load-balancers";

  private Labels() {}
}
