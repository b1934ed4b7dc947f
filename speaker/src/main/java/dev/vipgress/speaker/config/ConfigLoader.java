package dev.vipgress.speaker.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.vipgress.nat.Cidr;
import dev.vipgress.speaker.model.SteeringPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns YAML text into a {@link SpeakerConfig}: a pure function that reports every error at once.
 *
 * <pre>
 * namespace: vipgress-system
 * interfaces: [eth0]                 # or patterns like "en*"; default: the InternalIP's interface
 * clusterRanges: [10.244.0.0/16, 10.96.0.0/12]
 * nodeSelector: {vipgress.dev/speaker: "true"}
 * timing: fast | default | relaxed   # or {leaseDuration: 2s, renewInterval: 300ms, retryInterval: 200ms}
 * garp: {count: 3, interval: 200ms}
 * httpPort: 9470
 * steering: auto | direct | vxlan     # how backends reach an owner; auto: VXLAN off-segment
 * vxlan: {vni: 30311, port: 4799, mtu: 1450}
 * rebalance: off                     # or e.g. 30s: an over-share node hands one VIP per interval
 * bgp: {localASN: 4200000011, peers: [{address: 192.0.2.1, peerASN: 64512}]}  # BgpConfigParser
 * </pre>
 */
public final class ConfigLoader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Set<String> KEYS =
      Set.of(
          "namespace",
          "interfaces",
          "clusterRanges",
          "nodeSelector",
          "timing",
          "garp",
          "httpPort",
          "bgp",
          "steering",
          "vxlan",
          "rebalance");
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  /**
   * The profiles: {@code default} fails over in about a second with two liveness writes per node
   * per second; {@code fast} trades more writes for ~0.6 s; {@code relaxed} writes once a second
   * and fails over in ~4 s.
   */
  public static final Map<String, SpeakerConfig.Timing> PROFILES =
      Map.of(
          "fast",
          new SpeakerConfig.Timing(
              Duration.ofMillis(600), Duration.ofMillis(250), Duration.ofMillis(100)),
          "default",
          new SpeakerConfig.Timing(
              Duration.ofMillis(1000), Duration.ofMillis(500), Duration.ofMillis(100)),
          "relaxed",
          new SpeakerConfig.Timing(
              Duration.ofSeconds(4), Duration.ofSeconds(1), Duration.ofMillis(500)));

  private ConfigLoader() {}

  /** The embedded default: what the speaker runs with when no file is given. */
  public static SpeakerConfig defaults() {
    try {
      return parse("{}", "(defaults)");
    } catch (ConfigException e) {
      throw new IllegalStateException(e);
    }
  }

  public static SpeakerConfig load(Path file) throws ConfigException {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException(
          file.toString(), List.of("cannot read the file: " + e.getMessage()));
    }
    return parse(text, file.toString());
  }

  public static SpeakerConfig parse(String yaml, String source) throws ConfigException {
    List<String> errors = new ArrayList<>();
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new ConfigException(source, List.of("not valid YAML: " + e.getOriginalMessage()));
    } catch (IOException e) {
      throw new ConfigException(source, List.of("cannot read: " + e.getMessage()));
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      root = YAML.createObjectNode();
    }
    if (!root.isObject()) {
      throw new ConfigException(source, List.of("the top level must be a mapping"));
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!KEYS.contains(k)) {
        errors.add(
            "unknown key '"
                + k
                + "' (known: "
                + String.join(", ", KEYS.stream().sorted().toList())
                + ")");
      }
    }

    String namespace = root.path("namespace").asText("vipgress-system");
    if (!DNS_LABEL.matcher(namespace).matches()) {
      errors.add("namespace '" + namespace + "' is not a valid Kubernetes namespace name");
    }

    List<String> interfaces = stringList(root, "interfaces", errors);
    for (String i : interfaces) {
      if (i.isEmpty() || i.length() > 15 || i.contains("/") || i.contains(" ")) {
        errors.add("interfaces: '" + i + "' is not an interface name or pattern (max 15 chars)");
      }
    }

    List<String> ranges =
        root.has("clusterRanges")
            ? stringList(root, "clusterRanges", errors)
            : List.of("10.244.0.0/16", "10.96.0.0/12");
    for (String r : ranges) {
      try {
        Cidr.parse(r);
      } catch (IllegalArgumentException e) {
        errors.add(
            "clusterRanges: '" + r + "' is not a CIDR (like 10.244.0.0/16): " + e.getMessage());
      }
    }

    Map<String, String> selector = new LinkedHashMap<>();
    JsonNode sel = root.path("nodeSelector");
    if (!sel.isMissingNode() && !sel.isNull()) {
      if (!sel.isObject()) {
        errors.add("nodeSelector must be a mapping of label to value");
      } else {
        sel.fields().forEachRemaining(e -> selector.put(e.getKey(), e.getValue().asText()));
      }
    }

    SpeakerConfig.Timing timing = timing(root.path("timing"), errors);
    Duration rebalance = rebalance(root.path("rebalance"), errors);

    JsonNode garp = root.path("garp");
    int garpCount = garp.path("count").asInt(3);
    if (garpCount < 1 || garpCount > 50) {
      errors.add("garp.count " + garpCount + " must be between 1 and 50");
    }
    Duration garpInterval =
        duration(garp.path("interval"), "garp.interval", Duration.ofMillis(200), errors);

    int httpPort = root.path("httpPort").asInt(9470);
    if (httpPort < 0 || httpPort > 65535) {
      errors.add("httpPort " + httpPort + " is not a port (0 disables the endpoint)");
    }

    SpeakerConfig.Steering steering = steering(root, errors);
    BgpConfig bgp = BgpConfigParser.parse(root.path("bgp"), errors);

    if (!errors.isEmpty()) {
      throw new ConfigException(source, errors);
    }
    return new SpeakerConfig(
        namespace,
        interfaces,
        ranges,
        selector,
        timing,
        garpCount,
        garpInterval,
        httpPort,
        steering,
        rebalance,
        bgp);
  }

  /**
   * {@code rebalance: off} (the default) or an interval of at least 1s: one VIP moved per interval.
   */
  private static Duration rebalance(JsonNode r, List<String> errors) {
    // YAML 1.1 reads a bare off as the boolean false
    if (r.isMissingNode()
        || r.isNull()
        || (r.isBoolean() && !r.asBoolean())
        || (r.isTextual() && r.asText().equals("off"))) {
      return Duration.ZERO;
    }
    Duration d = duration(r, "rebalance", Duration.ZERO, errors);
    if (!d.isZero() && d.compareTo(Duration.ofSeconds(1)) < 0) {
      errors.add("rebalance " + r.asText() + " must be off or an interval of at least 1s");
      return Duration.ZERO;
    }
    return d;
  }

  private static SpeakerConfig.Steering steering(JsonNode root, List<String> errors) {
    SpeakerConfig.Steering d = SpeakerConfig.Steering.defaults();
    SteeringPolicy.Mode mode = d.mode();
    JsonNode m = root.path("steering");
    if (!m.isMissingNode() && !m.isNull()) {
      try {
        mode = SteeringPolicy.Mode.parse(m.asText());
      } catch (IllegalArgumentException e) {
        errors.add("steering: " + e.getMessage());
      }
    }
    JsonNode vx = root.path("vxlan");
    if (!vx.isMissingNode() && !vx.isNull() && !vx.isObject()) {
      errors.add("vxlan must be a mapping like {vni: 30311, port: 4799, mtu: 1450}");
    }
    int vni = vx.path("vni").asInt(d.vxlanVni());
    if (vni < 1 || vni > 0xffffff) {
      errors.add("vxlan.vni " + vni + " must be between 1 and 16777215");
    }
    int port = vx.path("port").asInt(d.vxlanPort());
    if (port < 1 || port > 65535) {
      errors.add("vxlan.port " + port + " is not a UDP port");
    } else if (port == 4789 || port == 8472) {
      errors.add(
          "vxlan.port "
              + port
              + " is the port of CNI VXLAN devices (4789: Calico/IANA, 8472: flannel/Cilium);"
              + " choose another one (default 4799)");
    }
    int mtu = vx.path("mtu").asInt(d.vxlanMtu());
    if (mtu < 1280 || mtu > 65485) {
      errors.add("vxlan.mtu " + mtu + " must be between 1280 and 65485 (uplink MTU - 50)");
    }
    return new SpeakerConfig.Steering(mode, vni, port, mtu);
  }

  private static SpeakerConfig.Timing timing(JsonNode t, List<String> errors) {
    if (t.isMissingNode() || t.isNull()) {
      return PROFILES.get("default");
    }
    if (t.isTextual()) {
      SpeakerConfig.Timing p = PROFILES.get(t.asText());
      if (p == null) {
        errors.add("timing '" + t.asText() + "' is not a profile (fast, default, relaxed)");
        return PROFILES.get("default");
      }
      return p;
    }
    SpeakerConfig.Timing d = PROFILES.get("default");
    Duration lease =
        duration(t.path("leaseDuration"), "timing.leaseDuration", d.leaseDuration(), errors);
    Duration renew =
        duration(t.path("renewInterval"), "timing.renewInterval", d.renewInterval(), errors);
    Duration retry =
        duration(t.path("retryInterval"), "timing.retryInterval", d.retryInterval(), errors);
    if (renew.multipliedBy(2).compareTo(lease) > 0) {
      errors.add(
          "timing.renewInterval "
              + renew.toMillis()
              + "ms must be at most half of timing.leaseDuration "
              + lease.toMillis()
              + "ms (a renewal must be able to land before the previous one runs out)");
    }
    return new SpeakerConfig.Timing(lease, renew, retry);
  }

  static Duration duration(JsonNode n, String key, Duration dflt, List<String> errors) {
    if (n.isMissingNode() || n.isNull()) {
      return dflt;
    }
    Matcher m = DURATION.matcher(n.asText());
    if (m.matches()) {
      long v = Long.parseLong(m.group(1));
      Duration d =
          switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(v);
            case "s" -> Duration.ofSeconds(v);
            default -> Duration.ofMinutes(v);
          };
      if (d.isZero()) {
        errors.add(key + " must be greater than zero");
      }
      return d;
    }
    try {
      return Duration.parse(n.asText());
    } catch (DateTimeParseException e) {
      errors.add(key + " '" + n.asText() + "' is not a duration (like 200ms, 2s, 1m)");
      return dflt;
    }
  }

  static List<String> stringList(JsonNode root, String key, List<String> errors) {
    JsonNode n = root.path(key);
    if (n.isMissingNode() || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      errors.add(key + " must be a list");
      return List.of();
    }
    List<String> out = new ArrayList<>();
    n.forEach(e -> out.add(e.asText()));
    return out;
  }
}
