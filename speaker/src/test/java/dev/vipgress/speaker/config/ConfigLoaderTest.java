package dev.vipgress.speaker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
  @Test
  void embeddedDefaultIsValid() {
    SpeakerConfig c = ConfigLoader.defaults();
    assertEquals("vipgress-system", c.namespace());
    assertEquals(List.of(), c.interfaces());
    assertEquals(3, c.garpCount());
    assertEquals(Duration.ofMillis(200), c.garpInterval());
    assertEquals(ConfigLoader.PROFILES.get("default"), c.timing());
  }

  @Test
  void readsEveryField() throws Exception {
    SpeakerConfig c =
        ConfigLoader.parse(
            """
            namespace: lb
            interfaces: [eth0, "en*"]
            clusterRanges: [10.244.0.0/16, fd76:244::/48]
            nodeSelector: {vipgress.dev/speaker: "true"}
            timing: {leaseDuration: 3s, renewInterval: 500ms, retryInterval: 100ms}
            garp: {count: 5, interval: 100ms}
            httpPort: 0
            """,
            "test");
    assertEquals("lb", c.namespace());
    assertEquals(List.of("eth0", "en*"), c.interfaces());
    assertEquals(Map.of("vipgress.dev/speaker", "true"), c.nodeSelector());
    assertEquals(Duration.ofSeconds(3), c.timing().leaseDuration());
    assertEquals(Duration.ofMillis(500), c.timing().renewInterval());
    assertEquals(5, c.garpCount());
    assertEquals(0, c.httpPort());
  }

  @Test
  void rebalancingIsOffUnlessAnIntervalIsGiven() throws Exception {
    assertEquals(Duration.ZERO, ConfigLoader.defaults().rebalanceInterval());
    assertEquals(Duration.ZERO, ConfigLoader.parse("rebalance: off", "t").rebalanceInterval());
    assertEquals(
        Duration.ofSeconds(30), ConfigLoader.parse("rebalance: 30s", "t").rebalanceInterval());
    ConfigException e =
        assertThrows(ConfigException.class, () -> ConfigLoader.parse("rebalance: 100ms", "t"));
    assertTrue(e.getMessage().contains("rebalance 100ms must be off"), e.getMessage());
  }

  @Test
  void reportsEveryErrorAtOnce() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
                    namespace: Not_Valid
                    clusterRanges: [10.244.0.0/33, banana]
                    timing: turbo
                    garp: {count: 0, interval: soon}
                    colour: blue
                    """,
                    "cm.yaml"));
    List<String> errs = e.errors();
    assertEquals(7, errs.size(), errs.toString());
    assertTrue(e.getMessage().contains("cm.yaml"));
    assertTrue(errs.stream().anyMatch(s -> s.contains("unknown key 'colour'")));
    assertTrue(errs.stream().anyMatch(s -> s.contains("banana")));
    assertTrue(errs.stream().anyMatch(s -> s.contains("turbo")));
  }

  @Test
  void steeringDefaultsToAutoWithOurOwnVxlanPort() throws Exception {
    SpeakerConfig.Steering d = ConfigLoader.defaults().steering();
    assertEquals(dev.vipgress.speaker.model.SteeringPolicy.Mode.AUTO, d.mode());
    assertEquals(4799, d.vxlanPort());
    assertEquals(0x7667, d.vxlanVni());
    SpeakerConfig c =
        ConfigLoader.parse("steering: vxlan\nvxlan: {vni: 42, port: 4800, mtu: 8950}\n", "t");
    assertEquals(dev.vipgress.speaker.model.SteeringPolicy.Mode.VXLAN, c.steering().mode());
    assertEquals(42, c.steering().vxlanVni());
    assertEquals(4800, c.steering().vxlanPort());
    assertEquals(8950, c.steering().vxlanMtu());
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> ConfigLoader.parse("steering: ipip\nvxlan: {port: 8472, vni: 0}\n", "t"));
    assertEquals(3, e.errors().size(), e.errors().toString());
    assertTrue(e.errors().stream().anyMatch(s -> s.contains("auto, direct or vxlan")));
    assertTrue(e.errors().stream().anyMatch(s -> s.contains("flannel")));
  }

  @Test
  void renewMustLandBeforeThePreviousOneRunsOut() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> ConfigLoader.parse("timing: {leaseDuration: 1s, renewInterval: 600ms}", "t"));
    assertTrue(e.errors().get(0).contains("at most half"), e.errors().toString());
  }

  @Test
  void notYaml() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> ConfigLoader.parse("a: [1, 2", "t"));
    assertTrue(e.errors().get(0).startsWith("not valid YAML"));
  }
}
