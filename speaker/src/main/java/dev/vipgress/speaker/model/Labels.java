package dev.vipgress.speaker.model;

/** The opt-in API: labels and annotations under {@code vipgress.dev/}. */
public final class Labels {
  public static final String ANNOUNCE = "vipgress.dev/announce";
  public static final String EGRESS = "vipgress.dev/egress";
  public static final String OWNER_ANNOTATION = "vipgress.dev/owner";

  /**
   * BGP communities a Service's VIPs carry besides the configured ones: {@code "64512:100,..."}.
   */
  public static final String BGP_COMMUNITIES = "vipgress.dev/bgp-communities";

  /** BGP large communities a Service's VIPs carry: {@code "4200000000:1:2,..."}. */
  public static final String BGP_LARGE_COMMUNITIES = "vipgress.dev/bgp-large-communities";

  public static final String EXCLUDE_LB = "node.kubernetes.io/exclude-from-external-load-balancers";

  private Labels() {}
}
