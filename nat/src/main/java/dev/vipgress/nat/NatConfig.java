package dev.vipgress.nat;

import java.net.Inet4Address;
import java.net.InetAddress;
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
 * @param resyncInterval re-read the whole kernel state at least this often (otherwise diffs are
 *     against the state the last successful transaction produced)
 * @param sysctlRoot where sysctls live ({@code /proc/sys}); tests point it elsewhere
 * @param manageSysctls whether {@link NftBackend#start} writes the sysctls
 * @param commandTimeout how long one {@code nft}/{@code ip}/{@code conntrack} run may take
 * @param attempts how many times {@link NftBackend#apply} tries a transaction before giving up
 * @param retryBackoff pause before the second attempt; doubled for each further one
 * @param vxlanLocal this node's underlay IPv4 address, the outer source of the VXLAN tunnel to
 *     owners on other L2 segments; null disables the tunnel (a {@link Steer} that needs it is
 *     reported as a conflict and not steered)
 * @param vxlanDevice the daemon's VXLAN device, one per node ({@value Builder#DEFAULT_VXLAN_DEVICE}
 *     by default)
 * @param vxlanVni the tunnel's VNI, the same on every node ({@value Builder#DEFAULT_VXLAN_VNI},
 *     ASCII "vg")
 * @param vxlanPort the tunnel's UDP port, the same on every node ({@value
 *     Builder#DEFAULT_VXLAN_PORT}: not 4789 (IANA, Calico, Cilium-on-some-setups) nor 8472
 *     (flannel, Cilium), so a CNI's own VXLAN device on the node cannot clash with ours)
 * @param vxlanMtu the tunnel device's MTU: the uplink's MTU minus 50 (IPv4 outer header)
 * @param vxlanAddress an IPv4 address put on the tunnel device as {@code /32 scope link}; the
 *     kernel's reverse-path filter drops everything received on a device without an IPv4 address
 *     whenever rp_filter is on, even in loose mode
 * @param mssClamp clamp the MSS of TCP SYNs of pods steered through the tunnel to what fits its
 *     MTU; off only to demonstrate why it is needed
 * @param bridge path of the {@code bridge} binary (FDB entries of the tunnel)
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
    Duration resyncInterval,
    Path sysctlRoot,
    boolean manageSysctls,
    Duration commandTimeout,
    int attempts,
    Duration retryBackoff,
    InetAddress vxlanLocal,
    String vxlanDevice,
    int vxlanVni,
    int vxlanPort,
    int vxlanMtu,
    String vxlanAddress,
    boolean mssClamp,
    String bridge) {

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
    if (vxlanLocal != null && !(vxlanLocal instanceof Inet4Address)) {
      throw new IllegalArgumentException(
          "vxlanLocal must be this node's IPv4 address (the tunnel's outer transport is IPv4 for"
              + " both families): "
              + Addresses.format(vxlanLocal));
    }
    Objects.requireNonNull(vxlanDevice, "vxlanDevice");
    if (!vxlanDevice.matches("[A-Za-z][A-Za-z0-9_.-]{0,14}")) {
      throw new IllegalArgumentException(
          "bad vxlanDevice name (1-15 characters, a letter first): " + vxlanDevice);
    }
    if (vxlanVni < 1 || vxlanVni > 0xffffff) {
      throw new IllegalArgumentException("vxlanVni must be in 1..16777215: " + vxlanVni);
    }
    if (vxlanPort < 1 || vxlanPort > 65535) {
      throw new IllegalArgumentException("vxlanPort must be in 1..65535: " + vxlanPort);
    }
    if (vxlanMtu < 1280 || vxlanMtu > 65485) {
      throw new IllegalArgumentException(
          "vxlanMtu must be in 1280..65485 (IPv6 needs 1280): " + vxlanMtu);
    }
    Objects.requireNonNull(vxlanAddress, "vxlanAddress");
    Objects.requireNonNull(bridge, "bridge");
    if (!(Addresses.parse(vxlanAddress) instanceof Inet4Address)) {
      throw new IllegalArgumentException("vxlanAddress must be an IPv4 address: " + vxlanAddress);
    }
  }

  /** Whether this node has the VXLAN tunnel. */
  public boolean vxlan() {
    return vxlanLocal != null;
  }

  /** The largest TCP MSS that fits the tunnel for {@code f} (IPv4 40, IPv6 60 header bytes). */
  public int tunnelMss(Family f) {
    return vxlanMtu - (f == Family.V4 ? 40 : 60);
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
    b.resyncInterval = resyncInterval;
    b.sysctlRoot = sysctlRoot;
    b.manageSysctls = manageSysctls;
    b.commandTimeout = commandTimeout;
    b.attempts = attempts;
    b.retryBackoff = retryBackoff;
    b.vxlanLocal = vxlanLocal;
    b.vxlanDevice = vxlanDevice;
    b.vxlanVni = vxlanVni;
    b.vxlanPort = vxlanPort;
    b.vxlanMtu = vxlanMtu;
    b.vxlanAddress = vxlanAddress;
    b.mssClamp = mssClamp;
    b.bridge = bridge;
    return b;
  }

  /** Defaults: table {@code vipgress}, binaries from PATH, mask 0x00ff0000, tables 7600+. */
  public static final class Builder {
    public static final String DEFAULT_VXLAN_DEVICE = "vipgress-vx";
    public static final int DEFAULT_VXLAN_VNI = 0x7667;
    public static final int DEFAULT_VXLAN_PORT = 4799;
    private InetAddress vxlanLocal;
    private String vxlanDevice = DEFAULT_VXLAN_DEVICE;
    private int vxlanVni = DEFAULT_VXLAN_VNI;
    private int vxlanPort = DEFAULT_VXLAN_PORT;
    private int vxlanMtu = 1450;
    private String vxlanAddress = "169.254.118.103";
    private boolean mssClamp = true;
    private String bridge = "bridge";
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

    public Builder vxlanLocal(InetAddress v) {
      vxlanLocal = v;
      return this;
    }

    public Builder vxlanDevice(String v) {
      vxlanDevice = v;
      return this;
    }

    public Builder vxlanVni(int v) {
      vxlanVni = v;
      return this;
    }

    public Builder vxlanPort(int v) {
      vxlanPort = v;
      return this;
    }

    public Builder vxlanMtu(int v) {
      vxlanMtu = v;
      return this;
    }

    public Builder vxlanAddress(String v) {
      vxlanAddress = v;
      return this;
    }

    public Builder mssClamp(boolean v) {
      mssClamp = v;
      return this;
    }

    public Builder bridge(String v) {
      bridge = v;
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
          resyncInterval,
          sysctlRoot,
          manageSysctls,
          commandTimeout,
          attempts,
          retryBackoff,
          vxlanLocal,
          vxlanDevice,
          vxlanVni,
          vxlanPort,
          vxlanMtu,
          vxlanAddress,
          mssClamp,
          bridge);
    }
  }
}
