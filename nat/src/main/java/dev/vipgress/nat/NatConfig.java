package dev.vipgress.nat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Static configuration of one node's egress datapath. Build with {@link #builder(String...)}.
 *
 * @param uplinks the node's uplink interfaces (sysctls; the device of steering routes is the first)
 * @param table name of the daemon's {@code inet} table
 * @param nft path of the {@code nft} binary
 * @param ip path of the {@code ip} binary
 * @param conntrack path of the {@code conntrack} binary
 * @param fwmarkMask the fwmark bits this module owns; owner slot {@code i} gets mark {@code (i+1)
 *     << lowest set bit}
 * @param routeTableBase routing table of owner slot {@code i} is {@code routeTableBase + i}
 * @param rulePriority preference of the {@code ip rule}s ({@code fwmark ... lookup ...})
 * @param guard install the owner's guard (drop stray packets to / from owned VIPs); off only to
 *     demonstrate why it is needed
 * @param conntrackCleanup delete stale conntrack entries on ownership changes; off only to
 *     demonstrate why it is needed
 * @param fenceMargin the kernel forgets an owned VIP this long before its deadline
 * @param releaseHold how long a node keeps dropping (instead of forwarding with the pod IP) packets
 *     of backends it no longer SNATs, while their nodes have not yet steered them to the new owner
 * @param resyncInterval re-read the whole kernel state at least this often (otherwise diffs are
 *     against the state the last successful transaction produced)
 * @param sysctlRoot where sysctls live ({@code /proc/sys}); tests point it elsewhere
 * @param manageSysctls whether {@link NftBackend#start} writes the sysctls
 * @param commandTimeout how long one {@code nft}/{@code ip}/{@code conntrack} run may take
 * @param attempts how many times {@link NftBackend#apply} tries a transaction before giving up
 * @param retryBackoff pause before the second attempt; doubled for each further one
 */
public record NatConfig(
    List<String> uplinks,
    String table,
    String nft,
    String ip,
    String conntrack,
    int fwmarkMask,
    int routeTableBase,
    int rulePriority,
    boolean guard,
    boolean conntrackCleanup,
    Duration fenceMargin,
    Duration releaseHold,
    Duration resyncInterval,
    Path sysctlRoot,
    boolean manageSysctls,
    Duration commandTimeout,
    int attempts,
    Duration retryBackoff) {

  public NatConfig {
    uplinks = List.copyOf(uplinks);
    Objects.requireNonNull(table, "table");
    if (!table.matches("[A-Za-z][A-Za-z0-9_]{0,30}")) {
      throw new IllegalArgumentException("bad nft table name: " + table);
    }
    if (fwmarkMask == 0) {
      throw new IllegalArgumentException("fwmarkMask must have bits set");
    }
    int shift = Integer.numberOfTrailingZeros(fwmarkMask);
    if (Integer.bitCount(fwmarkMask) != 32 - shift - Integer.numberOfLeadingZeros(fwmarkMask)) {
      throw new IllegalArgumentException(
          "fwmarkMask must be contiguous bits: " + Integer.toHexString(fwmarkMask));
    }
    if (routeTableBase <= 255 || (long) routeTableBase + maxSlots(fwmarkMask) > 0xfffffff0L) {
      throw new IllegalArgumentException("routeTableBase must be above 255: " + routeTableBase);
    }
    if (rulePriority <= 0 || rulePriority >= 32766) {
      throw new IllegalArgumentException("rulePriority must be in 1..32765: " + rulePriority);
    }
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be >= 1");
    }
  }

  /** How many owner nodes this node can steer to at once. */
  public int maxSlots() {
    return maxSlots(fwmarkMask);
  }

  private static int maxSlots(int mask) {
    long values = (Integer.toUnsignedLong(mask) >>> Integer.numberOfTrailingZeros(mask));
    return (int) Math.min(values, 1 << 16);
  }

  /** The fwmark of owner slot {@code slot}. */
  int markOf(int slot) {
    return (slot + 1) << Integer.numberOfTrailingZeros(fwmarkMask);
  }

  /** The slot a mark stands for, or -1 if it is not one of ours. */
  int slotOf(int mark) {
    int v = (mark & fwmarkMask) >>> Integer.numberOfTrailingZeros(fwmarkMask);
    return v == 0 || (mark & ~fwmarkMask) != 0 ? -1 : v - 1;
  }

  public static Builder builder(String... uplinks) {
    return new Builder(List.of(uplinks));
  }

  public Builder toBuilder() {
    Builder b = new Builder(uplinks);
    b.table = table;
    b.nft = nft;
    b.ip = ip;
    b.conntrack = conntrack;
    b.fwmarkMask = fwmarkMask;
    b.routeTableBase = routeTableBase;
    b.rulePriority = rulePriority;
    b.guard = guard;
    b.conntrackCleanup = conntrackCleanup;
    b.fenceMargin = fenceMargin;
    b.releaseHold = releaseHold;
    b.resyncInterval = resyncInterval;
    b.sysctlRoot = sysctlRoot;
    b.manageSysctls = manageSysctls;
    b.commandTimeout = commandTimeout;
    b.attempts = attempts;
    b.retryBackoff = retryBackoff;
    return b;
  }

  /** Defaults: table {@code vipgress}, binaries from PATH, mask 0x00ff0000, tables 7600+. */
  public static final class Builder {
    private List<String> uplinks;
    private String table = "vipgress";
    private String nft = "nft";
    private String ip = "ip";
    private String conntrack = "conntrack";
    private int fwmarkMask = 0x00ff0000;
    private int routeTableBase = 7600;
    private int rulePriority = 7600;
    private boolean guard = true;
    private boolean conntrackCleanup = true;
    private Duration fenceMargin = Duration.ofMillis(50);
    private Duration releaseHold = Duration.ofSeconds(60);
    private Duration resyncInterval = Duration.ofSeconds(60);
    private Path sysctlRoot = Path.of("/proc/sys");
    private boolean manageSysctls = true;
    private Duration commandTimeout = Duration.ofSeconds(30);
    private int attempts = 3;
    private Duration retryBackoff = Duration.ofMillis(100);

    private Builder(List<String> uplinks) {
      this.uplinks = uplinks;
    }

    public Builder uplinks(List<String> v) {
      uplinks = v;
      return this;
    }

    public Builder table(String v) {
      table = v;
      return this;
    }

    public Builder nft(String v) {
      nft = v;
      return this;
    }

    public Builder ip(String v) {
      ip = v;
      return this;
    }

    public Builder conntrack(String v) {
      conntrack = v;
      return this;
    }

    public Builder fwmarkMask(int v) {
      fwmarkMask = v;
      return this;
    }

    public Builder routeTableBase(int v) {
      routeTableBase = v;
      return this;
    }

    public Builder rulePriority(int v) {
      rulePriority = v;
      return this;
    }

    public Builder guard(boolean v) {
      guard = v;
      return this;
    }

    public Builder conntrackCleanup(boolean v) {
      conntrackCleanup = v;
      return this;
    }

    public Builder fenceMargin(Duration v) {
      fenceMargin = v;
      return this;
    }

    public Builder releaseHold(Duration v) {
      releaseHold = v;
      return this;
    }

    public Builder resyncInterval(Duration v) {
      resyncInterval = v;
      return this;
    }

    public Builder sysctlRoot(Path v) {
      sysctlRoot = v;
      return this;
    }

    public Builder manageSysctls(boolean v) {
      manageSysctls = v;
      return this;
    }

    public Builder commandTimeout(Duration v) {
      commandTimeout = v;
      return this;
    }

    public Builder attempts(int v) {
      attempts = v;
      return this;
    }

    public Builder retryBackoff(Duration v) {
      retryBackoff = v;
      return this;
    }

    public NatConfig build() {
      return new NatConfig(
          uplinks,
          table,
          nft,
          ip,
          conntrack,
          fwmarkMask,
          routeTableBase,
          rulePriority,
          guard,
          conntrackCleanup,
          fenceMargin,
          releaseHold,
          resyncInterval,
          sysctlRoot,
          manageSysctls,
          commandTimeout,
          attempts,
          retryBackoff);
    }
  }
}
