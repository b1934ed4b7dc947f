package dev.vipgress.speaker.bgp.announce;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vipgress.speaker.bgp.codec.Community;
import dev.vipgress.speaker.bgp.codec.LargeCommunity;
import dev.vipgress.speaker.model.ClusterView;
import dev.vipgress.speaker.model.Labels;
import dev.vipgress.speaker.model.ServiceInfo;
import dev.vipgress.speaker.model.ServiceKey;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceCommunitiesTest {
  static ServiceInfo svc(String name, String mode, String vip, Map<String, String> annotations) {
    return new ServiceInfo(
        new ServiceKey("default", name),
        "LoadBalancer",
        Map.of(Labels.ANNOUNCE, mode),
        List.of(vip),
        Instant.EPOCH,
        annotations);
  }

  @Test
  void servicesSharingAVipAddUpAndABadValueCostsOnlyItself() throws Exception {
    List<ServiceCommunities.Invalid> bad = new ArrayList<>();
    Map<ServiceKey, ServiceInfo> services = new java.util.HashMap<>();
    for (ServiceInfo s :
        List.of(
            svc("a", "bgp", "198.51.100.7", Map.of(Labels.BGP_COMMUNITIES, "64512:1, 64512:2")),
            svc(
                "b",
                "bgp",
                "198.51.100.7",
                Map.of(
                    Labels.BGP_COMMUNITIES, "64512:2,99999:1",
                    Labels.BGP_LARGE_COMMUNITIES, "4200000000:1:2")),
            svc("c", "l2", "192.168.100.200", Map.of(Labels.BGP_COMMUNITIES, "64512:9")))) {
      services.put(s.key(), s);
    }
    var out = ServiceCommunities.of(new ClusterView(services, Map.of(), Map.of()), bad::add);
    InetAddress vip = InetAddress.getByName("198.51.100.7");
    assertEquals(List.of(vip), List.copyOf(out.keySet()), "L2 Services carry no communities");
    assertEquals(
        List.of(Community.parse("64512:1"), Community.parse("64512:2")),
        out.get(vip).communities());
    assertEquals(List.of(LargeCommunity.parse("4200000000:1:2")), out.get(vip).largeCommunities());
    assertEquals(1, bad.size());
    assertEquals("b", bad.get(0).service().key().name());
  }
}
