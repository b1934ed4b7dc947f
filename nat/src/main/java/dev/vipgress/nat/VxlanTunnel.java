package dev.vipgress.nat;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The VXLAN half of steering to owners on another L2 segment. Pure: parses {@code ip -j} / {@code
 * bridge -j} output and renders {@code ip -batch} / {@code bridge -batch} lines.
 *
 * <p>Design: one daemon-owned VXLAN device per node ({@link NatConfig#vxlanDevice()}, fixed VNI and
 * UDP port, {@code nolearning}, bound to the first uplink, outer source {@link
 * NatConfig#vxlanLocal()}). No control plane traffic: every node derives every other node's tunnel
 * MAC from its underlay IPv4 ({@link #macOf}), so a steering node installs, per owner reached
 * through the tunnel, one static FDB entry (owner MAC → owner underlay IP) and one permanent
 * neighbour entry per family (owner node IP → owner MAC); the owner's routing table says {@code
 * default via <owner node IP> dev <vxlan> onlink}. Inner IPv4 and IPv6 both ride on the IPv4
 * underlay. The receiving owner needs nothing but its own device (with the derived MAC): it routes
 * the decapsulated packets like any other, SNATs them, and sends the replies back to the pod's node
 * along the normal routes. Its {@code rp_filter} on the device is 2 (loose: the pod's address is
 * not routed through the tunnel), which needs an IPv4 address on the device ({@link
 * NatConfig#vxlanAddress()}).
 */
public final class VxlanTunnel {

  /**
   * What the kernel has of the device.
   *
   * @param present whether a link of that name exists
   * @param kind its {@code info_kind} ({@code vxlan} for ours)
   * @param vni VXLAN id
   * @param port UDP destination port
   * @param local outer source address
   * @param link the underlay device it is bound to, or null
   * @param learning whether it learns FDB entries from received packets
   * @param mtu its MTU
   * @param mac its MAC
   * @param up administratively up
   * @param addresses its IPv4 addresses
   */
  public record Device(
      boolean present,
      String kind,
      int vni,
      int port,
      String local,
      String link,
      boolean learning,
      int mtu,
      String mac,
      boolean up,
      List<String> addresses) {
    public Device {
      addresses = List.copyOf(addresses);
    }

    static Device absent() {
      return new Device(false, "", 0, 0, null, null, false, 0, null, false, List.of());
    }
  }

  /**
   * Static forwarding state on the device.
   *
   * @param fdb MAC → underlay destination
   * @param neighbours next hop (IPv4 or IPv6) → MAC
   */
  public record View(SortedMap<String, String> fdb, SortedMap<String, String> neighbours) {
    public static View empty() {
      return new View(new TreeMap<>(), new TreeMap<>());
    }
  }

  /**
   * The changes: {@code before} (adds and replacements) run ahead of the routes that use them,
   * {@code after} (removals) behind the routes' removal.
   */
  public record Diff(
      List<String> fdbBefore,
      List<String> neighBefore,
      List<String> fdbAfter,
      List<String> neighAfter) {
    public boolean isEmpty() {
      return fdbBefore.isEmpty()
          && neighBefore.isEmpty()
          && fdbAfter.isEmpty()
          && neighAfter.isEmpty();
    }
  }

  private final NatConfig config;

  public VxlanTunnel(NatConfig config) {
    this.config = config;
  }

  /**
   * The tunnel MAC of the node whose underlay address is {@code endpoint}: locally administered,
   * unicast, {@code 02:76} followed by the four bytes of the IPv4 address. Deterministic, so no
   * node needs to ask another for it.
   */
  public static String macOf(InetAddress endpoint) {
    if (!(endpoint instanceof Inet4Address)) {
      throw new IllegalArgumentException(
          "VXLAN endpoints are IPv4 addresses: " + Addresses.format(endpoint));
    }
    byte[] b = endpoint.getAddress();
    return String.format(
        "02:76:%02x:%02x:%02x:%02x", b[0] & 0xff, b[1] & 0xff, b[2] & 0xff, b[3] & 0xff);
  }

  /** The uplink the device is bound to (the first one), or null. */
  String link() {
    return config.uplinks().isEmpty() ? null : config.uplinks().get(0);
  }

  /** Whether {@code d} is our device exactly as configured. */
  public boolean matches(Device d) {
    return d.present()
        && "vxlan".equals(d.kind())
        && d.vni() == config.vxlanVni()
        && d.port() == config.vxlanPort()
        && Objects.equals(d.local(), Addresses.format(config.vxlanLocal()))
        && Objects.equals(d.link(), link())
        && !d.learning()
        && d.mtu() == config.vxlanMtu()
        && macOf(config.vxlanLocal()).equalsIgnoreCase(String.valueOf(d.mac()));
  }

  /**
   * {@code ip -batch} lines that make the device exist as configured, up, with its address: a
   * device of another shape (or not VXLAN at all under our name) is replaced.
   */
  public List<String> ensure(Device d) {
    List<String> l = new ArrayList<>();
    String dev = config.vxlanDevice();
    if (!matches(d)) {
      if (d.present()) {
        l.add("link del " + dev);
      }
      l.add(
          "link add "
              + dev
              + " address "
              + macOf(config.vxlanLocal())
              + " mtu "
              + config.vxlanMtu()
              + " type vxlan id "
              + config.vxlanVni()
              + " dstport "
              + config.vxlanPort()
              + " local "
              + Addresses.format(config.vxlanLocal())
              + (link() == null ? "" : " dev " + link())
              + " nolearning");
    }
    if (!matches(d) || !d.addresses().contains(config.vxlanAddress())) {
      l.add("addr replace " + config.vxlanAddress() + "/32 dev " + dev + " scope link");
    }
    if (!matches(d) || !d.up()) {
      l.add("link set " + dev + " up");
    }
    return l;
  }

  /** The FDB and neighbour entries {@code plan} needs. */
  public View desired(NatPlan plan) {
    SortedMap<String, String> fdb = new TreeMap<>();
    SortedMap<String, String> neigh = new TreeMap<>();
    for (NatPlan.SlotRoute r : plan.slots().values()) {
      if (r.tunnel() == null) {
        continue;
      }
      String mac = macOf(r.tunnel());
      fdb.put(mac, Addresses.format(r.tunnel()));
      for (Family f : Family.values()) {
        InetAddress nh = r.nextHop(f);
        if (nh != null) {
          neigh.put(Addresses.format(nh), mac);
        }
      }
    }
    return new View(fdb, neigh);
  }

  /** Lines that turn {@code cur} into {@code want}. */
  public Diff diff(View cur, View want) {
    String dev = config.vxlanDevice();
    List<String> fb = new ArrayList<>();
    List<String> nb = new ArrayList<>();
    List<String> fa = new ArrayList<>();
    List<String> na = new ArrayList<>();
    want.fdb()
        .forEach(
            (mac, dst) -> {
              if (!dst.equals(cur.fdb().get(mac))) {
                fb.add("fdb replace " + mac + " dev " + dev + " dst " + dst + " self permanent");
              }
            });
    cur.fdb()
        .forEach(
            (mac, dst) -> {
              if (!want.fdb().containsKey(mac)) {
                fa.add("fdb del " + mac + " dev " + dev + " dst " + dst + " self");
              }
            });
    want.neighbours()
        .forEach(
            (nh, mac) -> {
              if (!mac.equals(cur.neighbours().get(nh))) {
                nb.add("neigh replace " + nh + " lladdr " + mac + " dev " + dev + " nud permanent");
              }
            });
    cur.neighbours()
        .forEach(
            (nh, mac) -> {
              if (!want.neighbours().containsKey(nh)) {
                na.add("neigh del " + nh + " dev " + dev);
              }
            });
    return new Diff(fb, nb, fa, na);
  }

  /** Parses {@code ip -j -d link show dev X} and {@code ip -j -4 addr show dev X}. */
  public static Device parseDevice(String linkJson, String addrJson) {
    List<?> links = Json.list(linkJson);
    if (links.isEmpty() || !(links.get(0) instanceof Map<?, ?> l)) {
      return Device.absent();
    }
    String kind = "";
    int vni = 0;
    int port = 0;
    String local = null;
    String link = null;
    boolean learning = true;
    if (l.get("linkinfo") instanceof Map<?, ?> li) {
      kind = String.valueOf(li.get("info_kind"));
      if (li.get("info_data") instanceof Map<?, ?> d) {
        vni = d.get("id") instanceof Number n ? n.intValue() : 0;
        port = d.get("port") instanceof Number n ? n.intValue() : 0;
        local = d.get("local") instanceof String s ? Addresses.format(Addresses.parse(s)) : null;
        link = d.get("link") instanceof String s ? s : null;
        learning = !Boolean.FALSE.equals(d.get("learning"));
      }
    }
    boolean up = l.get("flags") instanceof List<?> fl && fl.contains("UP");
    int mtu = l.get("mtu") instanceof Number n ? n.intValue() : 0;
    String mac = l.get("address") instanceof String s ? s : null;
    List<String> addrs = new ArrayList<>();
    for (Object o : Json.list(addrJson)) {
      if (o instanceof Map<?, ?> a && a.get("addr_info") instanceof List<?> infos) {
        for (Object i : infos) {
          if (i instanceof Map<?, ?> im && "inet".equals(im.get("family"))) {
            addrs.add(String.valueOf(im.get("local")));
          }
        }
      }
    }
    return new Device(true, kind, vni, port, local, link, learning, mtu, mac, up, addrs);
  }

  /** Parses {@code bridge -j fdb show dev X} and {@code ip -j neigh show dev X}. */
  public static View parse(String fdbJson, String neighJson) {
    SortedMap<String, String> fdb = new TreeMap<>();
    for (Object o : Json.list(fdbJson)) {
      if (o instanceof Map<?, ?> e
          && e.get("mac") instanceof String mac
          && e.get("dst") instanceof String dst) {
        fdb.put(mac.toLowerCase(Locale.ROOT), Addresses.format(Addresses.parse(dst)));
      }
    }
    SortedMap<String, String> neigh = new TreeMap<>();
    for (Object o : Json.list(neighJson)) {
      if (o instanceof Map<?, ?> e && e.get("dst") instanceof String dst) {
        String mac = e.get("lladdr") instanceof String m ? m.toLowerCase(Locale.ROOT) : "";
        boolean permanent = e.get("state") instanceof List<?> st && st.contains("PERMANENT");
        // a non-permanent entry is not ours as it should be: "" never equals a wanted MAC
        neigh.put(Addresses.format(Addresses.parse(dst)), permanent ? mac : "");
      }
    }
    return new View(fdb, neigh);
  }
}
