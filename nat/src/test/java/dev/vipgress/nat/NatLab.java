package dev.vipgress.nat;

import dev.vipgress.lab.ExecResult;
import dev.vipgress.lab.Lab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Lab plumbing for the nat ITs: agents ({@link NatAgentMain}) and flows ({@link FlowProbe}) in node
 * and pod namespaces, and the clean-up of everything they and the tests add. Uses its own table,
 * fwmark bits, routing tables and VIPs so it cannot disturb a vipgress daemon in the lab.
 */
final class NatLab implements AutoCloseable {
  static final String TABLE = "vgnat_it";
  static final String MASK = "0x0f000000";
  static final int TABLE_BASE = 7700;
  static final int RULE_PRIO = 7700;
  static final String VIP4 = "192.168.100.240";
  static final String VIP6 = "fd76:100::240";
  static final String EXT4 = "192.168.100.100";
  static final String EXT6 = "fd76:100::100";
  static final long TTL_MS = 2000;

  /** The ITs' own VXLAN device, VNI and port: a vipgress daemon in the lab uses the defaults. */
  static final String VXLAN_DEVICE = "vgitvx";

  static final int VXLAN_VNI = 30312;
  static final int VXLAN_PORT = 4800;

  /** Every node namespace the tests may touch (the far segment's node too). */
  static final List<String> NODES = List.of("node1", "node2", "node3", "far1");

  final Lab lab;
  final Path dir;
  private final List<Agent> agents = new CopyOnWriteArrayList<>();
  private final List<Probe> probes = new CopyOnWriteArrayList<>();
  private final List<String> undo = new ArrayList<>();

  NatLab(Lab lab) {
    this.lab = lab;
    try {
      this.dir = Files.createTempDirectory("vgnat-it");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  static String classpath() {
    List<String> parts = new ArrayList<>();
    for (Class<?> c :
        List.of(
            NftBackend.class,
            FlowProbe.class,
            picocli.CommandLine.class,
            com.google.common.net.InetAddresses.class,
            com.google.common.util.concurrent.internal.InternalFutureFailureAccess.class,
            com.fasterxml.jackson.databind.ObjectMapper.class,
            com.fasterxml.jackson.core.JsonFactory.class,
            com.fasterxml.jackson.annotation.JsonProperty.class,
            org.slf4j.LoggerFactory.class,
            ch.qos.logback.classic.Logger.class,
            ch.qos.logback.core.Appender.class)) {
      try {
        parts.add(
            Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
      } catch (URISyntaxException e) {
        throw new IllegalStateException(e);
      }
    }
    return String.join(":", parts);
  }

  /**
   * Waits until no vipgress daemon (or its tables) is active in the node namespaces: the lab is
   * shared, and a daemon SNATing the same slots to its own VIP would make these tests measure it.
   * Gives up after {@code timeout} by aborting (skipping) the test.
   */
  void awaitQuiet(Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    String why = "";
    while (System.nanoTime() < end) {
      why = "";
      var st = lab.status();
      var speakers = st.path("speakers").fields();
      while (speakers.hasNext()) {
        var e = speakers.next();
        if (e.getValue().path("running").asBoolean(false)) {
          why += " speaker on " + e.getKey() + " running;";
        }
      }
      for (String n : nodes()) {
        if (lab.exec(n, "nft", "list", "tables").stdout().contains("table inet vipgress")) {
          why += " table inet vipgress on " + n + ";";
        }
      }
      if (why.isEmpty()) {
        return;
      }
      sleep(2000);
    }
    org.junit.jupiter.api.Assumptions.abort("the shared lab is busy:" + why);
  }

  // --- desired state per node -------------------------------------------------------------------

  /**
   * Which node owns the VIPs; all backends named by lab slot. With {@code vxlan} every agent gets
   * the tunnel, and nodes on another segment than the owner steer through it.
   */
  record Layout(List<String> backends, boolean v6, boolean vxlan) {
    Layout(List<String> backends, boolean v6) {
      this(backends, v6, false);
    }
  }

  /** The node namespaces of {@link #NODES} this lab has (an older lab has no far segment). */
  List<String> nodes() {
    if (status == null) {
      status = lab.status();
    }
    return NODES.stream().filter(n -> status.path("hosts").has(n)).toList();
  }

  /** The lab segment a node is on (1: vg-lan, 2: the far segment). */
  int segment(String node) {
    return lab.host(node).path("segment").asInt(1);
  }

  String state(String node, String owner, Layout layout, long generation) {
    StringBuilder b = new StringBuilder("generation " + generation + "\n");
    List<String> farNodes = nodes().contains("far1") ? List.of("far1") : List.of();
    for (String f : farNodes) {
      b.append("cluster ").append(lab.ipv4(f)).append('\n');
      b.append("cluster ").append(lab.ipv6(f)).append('\n');
    }
    for (String c :
        List.of(
            "10.244.0.0/16",
            "10.96.0.0/16",
            "fd76:244::/32",
            "fd76:96::/112",
            lab.ipv4("node1"),
            lab.ipv4("node2"),
            lab.ipv4("node3"),
            lab.ipv6("node1"),
            lab.ipv6("node2"),
            lab.ipv6("node3"))) {
      b.append("cluster ").append(c).append('\n');
    }
    List<String> b4 = new ArrayList<>();
    List<String> b6 = new ArrayList<>();
    for (String slot : layout.backends()) {
      b4.add(slotIp(slot, false));
      b6.add(slotIp(slot, true));
    }
    for (String slot : layout.backends()) {
      if (slot.startsWith(node + "-")) {
        b.append("backend ").append(slotIp(slot, false)).append('\n');
        if (layout.v6()) {
          b.append("backend ").append(slotIp(slot, true)).append('\n');
        }
      }
    }
    if (node.equals(owner)) {
      b.append("own ").append(VIP4).append(" backends=").append(String.join(",", b4)).append('\n');
      if (layout.v6()) {
        b.append("own ")
            .append(VIP6)
            .append(" backends=")
            .append(String.join(",", b6))
            .append('\n');
      }
    } else if (owner != null) {
      for (String slot : layout.backends()) {
        if (!slot.startsWith(node + "-")) {
          continue;
        }
        String tunnel =
            layout.vxlan() && segment(node) != segment(owner) ? " vxlan=" + lab.ipv4(owner) : "";
        b.append("steer ").append(slotIp(slot, false)).append(" owner=").append(owner);
        b.append(" via=").append(lab.ipv4(owner)).append(" vip=").append(VIP4);
        b.append(tunnel).append('\n');
        if (layout.v6()) {
          b.append("steer ").append(slotIp(slot, true)).append(" owner=").append(owner);
          b.append(" via=").append(lab.ipv6(owner)).append(" vip=").append(VIP6);
          b.append(tunnel).append('\n');
        }
      }
    }
    return b.toString();
  }

  private com.fasterxml.jackson.databind.JsonNode status;

  String slotIp(String slot, boolean v6) {
    if (status == null) {
      status = lab.status();
    }
    var s = status.path("slots").path(slot);
    return s.path(v6 ? "ipv6" : "ipv4").asText();
  }

  // --- agents -----------------------------------------------------------------------------------

  final class Agent {
    final String node;
    final Process process;
    final Path stateFile;
    final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    /** The elements the agent reported as refused (left out, the rest applied). */
    final List<String> refused = new CopyOnWriteArrayList<>();

    long generation;

    Agent(String node, Process process, Path stateFile) {
      this.node = node;
      this.process = process;
      this.stateFile = stateFile;
      Thread t =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  String l;
                  while ((l = r.readLine()) != null) {
                    lines.add(l);
                  }
                } catch (IOException e) {
                  lines.add("closed " + e);
                }
              });
      t.setDaemon(true);
      t.start();
    }

    long pid() {
      return process.pid();
    }

    /** Writes a new desired state and waits until the agent applied it. */
    void set(String owner, Layout layout) {
      generation++;
      write(stateFile, state(node, owner, layout, generation));
      awaitApplied(generation);
    }

    void awaitApplied(long gen) {
      long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (System.nanoTime() < end) {
        String l;
        try {
          l = lines.poll(200, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
        if (l == null) {
          if (!process.isAlive()) {
            throw new IllegalStateException("agent on " + node + " exited: " + stderr());
          }
          continue;
        }
        if (l.startsWith("refused ")) {
          refused.add(l.substring("refused ".length()));
        }
        if (l.equals("applied " + gen)) {
          return;
        }
        if (l.startsWith("error")) {
          throw new IllegalStateException("agent on " + node + ": " + l);
        }
      }
      throw new IllegalStateException("agent on " + node + " did not apply generation " + gen);
    }

    void signal(String sig) {
      run(List.of("kill", "-" + sig, Long.toString(pid())));
    }

    /** SIGTERM (the agent removes its state) and wait. */
    void stop() {
      if (process.isAlive()) {
        signal("CONT");
        process.destroy();
        try {
          if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    String stderr() {
      try {
        return new String(process.getErrorStream().readNBytes(4096), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return e.toString();
      }
    }
  }

  Agent agent(String node, String owner, Layout layout, String... flags) {
    Path state = dir.resolve(node + ".state");
    write(state, state(node, owner, layout, 1));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java(),
                "-Xmx64m",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                classpath(),
                NatAgentMain.class.getName(),
                "--state",
                state.toString(),
                "--uplink",
                "eth0",
                "--ttl-ms",
                Long.toString(TTL_MS),
                "--table",
                TABLE,
                "--fwmark-mask",
                MASK,
                "--route-table-base",
                Integer.toString(TABLE_BASE),
                "--rule-priority",
                Integer.toString(RULE_PRIO)));
    if (layout.vxlan()) {
      cmd.addAll(
          List.of(
              "--vxlan-local",
              lab.ipv4(node),
              "--vxlan-device",
              VXLAN_DEVICE,
              "--vxlan-vni",
              Integer.toString(VXLAN_VNI),
              "--vxlan-port",
              Integer.toString(VXLAN_PORT)));
    }
    cmd.addAll(List.of(flags));
    Process p = lab.spawn(node, cmd.toArray(String[]::new));
    Agent a = new Agent(node, p, state);
    a.generation = 1;
    agents.add(a);
    a.awaitApplied(1);
    return a;
  }

  // --- flows ------------------------------------------------------------------------------------

  final class Probe {
    final String slot;
    final boolean v6;
    final Process process;
    final List<long[]> echoes = new CopyOnWriteArrayList<>();
    volatile String peer;
    volatile String closed;

    Probe(String slot, boolean v6, Process process) {
      this.slot = slot;
      this.v6 = v6;
      this.process = process;
      Thread t =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  String l;
                  while ((l = r.readLine()) != null) {
                    String[] w = l.split(" ", 3);
                    switch (w[0]) {
                      case "peer" -> peer = w[1];
                      case "echo" ->
                          echoes.add(new long[] {Long.parseLong(w[1]), Long.parseLong(w[2])});
                      case "closed" -> closed = l;
                      default -> {}
                    }
                  }
                } catch (IOException e) {
                  closed = "closed " + e;
                }
                if (closed == null) {
                  closed = "closed exit";
                }
              });
      t.setDaemon(true);
      t.start();
    }

    long lastEchoMillis() {
      return echoes.isEmpty() ? 0 : echoes.get(echoes.size() - 1)[1];
    }

    /**
     * Waits until an echo arrives after {@code afterMillis}; false if the flow died or timed out.
     */
    boolean echoesAfter(long afterMillis, Duration timeout) {
      long end = System.currentTimeMillis() + timeout.toMillis();
      while (System.currentTimeMillis() < end) {
        if (lastEchoMillis() > afterMillis) {
          return true;
        }
        if (closed != null) {
          return false;
        }
        sleep(50);
      }
      return false;
    }

    /** The longest silence between echoes that arrived after {@code fromMillis}'s last echo. */
    long maxGapMillis(long fromMillis) {
      long prev = -1;
      long max = 0;
      for (long[] e : echoes) {
        if (e[1] < fromMillis) {
          prev = e[1];
          continue;
        }
        if (prev >= 0) {
          max = Math.max(max, e[1] - prev);
        }
        prev = e[1];
      }
      return max;
    }
  }

  Probe flow(String slot, boolean v6) {
    Process p =
        lab.spawn(
            slot,
            java(),
            "-Xmx32m",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            classpath(),
            FlowProbe.class.getName(),
            v6 ? EXT6 : EXT4,
            "9000",
            "20");
    Probe pr = new Probe(slot, v6, p);
    probes.add(pr);
    long end = System.currentTimeMillis() + 20_000;
    while (pr.echoes.isEmpty() && System.currentTimeMillis() < end && pr.closed == null) {
      sleep(50);
    }
    if (pr.echoes.isEmpty()) {
      throw new IllegalStateException("flow from " + slot + " never echoed: " + pr.closed);
    }
    return pr;
  }

  // --- probes of the datapath -------------------------------------------------------------------

  /**
   * What ext's HTTP echo saw as the source of a request from {@code slot}, or null if it failed.
   */
  String seenBy(String slot, boolean v6) {
    ExecResult r =
        lab.exec(
            Duration.ofSeconds(10),
            slot,
            "curl",
            "-s",
            "-m",
            "2",
            v6 ? "http://[" + EXT6 + "]:8080/" : "http://" + EXT4 + ":8080/");
    if (!r.ok()) {
      return null;
    }
    String out = r.stdout().trim();
    if (!out.startsWith("peer=")) {
      return null;
    }
    String peer = out.substring(5);
    return peer.substring(0, peer.lastIndexOf(':'));
  }

  /** Points ext's neighbour entries for the VIPs at {@code node} (what a GARP would do). */
  void announce(String node, boolean v6) {
    String mac = lab.mac(node);
    lab.execOk(
        "ext", "ip", "neigh", "replace", VIP4, "lladdr", mac, "dev", "eth0", "nud", "permanent");
    if (v6) {
      lab.execOk(
          "ext",
          "ip",
          "-6",
          "neigh",
          "replace",
          VIP6,
          "lladdr",
          mac,
          "dev",
          "eth0",
          "nud",
          "permanent");
    }
  }

  /** Adds a CNI-style masquerade on a node; removed by {@link #close()}. */
  void masquerade(String node, String podCidr) {
    String t = "vgnat_it_masq";
    String script =
        "table ip "
            + t
            + " {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n"
            + "  ip saddr "
            + podCidr
            + " ip daddr != 10.244.0.0/16 masquerade\n }\n}\n";
    Path f = dir.resolve("masq-" + node + ".nft");
    write(f, script);
    lab.execOk(node, "nft", "-f", f.toString());
    undo.add(node + "|nft delete table ip " + t);
  }

  // --- clean-up ---------------------------------------------------------------------------------

  @Override
  public void close() {
    for (Probe p : probes) {
      p.process.destroyForcibly();
    }
    for (Agent a : agents) {
      a.stop();
    }
    for (String node : nodes()) {
      lab.exec(node, "nft", "delete", "table", "inet", TABLE);
      if (lab.exec(node, "ip", "link", "show", "dev", VXLAN_DEVICE).ok()) {
        lab.exec(node, "ip", "link", "del", VXLAN_DEVICE);
      }
      for (String fam : List.of("-4", "-6")) {
        for (int i = 0; i < 8; i++) {
          if (!lab.exec(node, "ip", fam, "rule", "del", "pref", Integer.toString(RULE_PRIO)).ok()) {
            break;
          }
        }
        for (int t = TABLE_BASE; t < TABLE_BASE + 4; t++) {
          lab.exec(node, "ip", fam, "route", "flush", "table", Integer.toString(t));
        }
      }
      for (String[] ct :
          new String[][] {
            {"-q", VIP4}, {"-d", VIP4}, {"-f", "ipv6", "-q", VIP6}, {"-f", "ipv6", "-d", VIP6}
          }) {
        List<String> cmd = new ArrayList<>(List.of("conntrack", "-D"));
        cmd.addAll(List.of(ct));
        lab.exec(node, cmd.toArray(String[]::new));
      }
    }
    for (String u : undo) {
      String[] hp = u.split("\\|", 2);
      lab.exec(hp[0], hp[1].split(" "));
    }
    // flows a test broke on purpose: ext would retransmit to the VIPs for minutes
    lab.exec("ext", "ss", "-K", "dst", VIP4);
    lab.exec("ext", "ss", "-K", "dst", "[" + VIP6 + "]");
    lab.exec("ext", "ip", "neigh", "del", VIP4, "dev", "eth0");
    lab.exec("ext", "ip", "-6", "neigh", "del", VIP6, "dev", "eth0");
    try (var s = Files.list(dir)) {
      for (Path p : s.toList()) {
        Files.deleteIfExists(p);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // a temp dir left behind is harmless
    }
  }

  static void write(Path p, String text) {
    try {
      Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
