package dev.vipgress.speaker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vipgress status}: per VIP owner, mode, backends and egress state, from a speaker. */
@Command(name = "status", description = "Show every VIP: owner, mode, backends, egress state.")
final class StatusCommand implements Callable<Integer> {
  @Option(names = "--json", description = "print JSON instead of a table")
  boolean json;

  @Option(
      names = "--endpoint",
      defaultValue = "http://127.0.0.1:9470",
      description = "the speaker's HTTP endpoint (default ${DEFAULT-VALUE})")
  String endpoint;

  @Override
  public Integer call() throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    HttpResponse<String> r;
    try {
      r =
          http.send(
              HttpRequest.newBuilder(URI.create(endpoint + "/status"))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      System.err.println(
          "vipgress status: no speaker answers at "
              + endpoint
              + " ("
              + e.getMessage()
              + "); is it running on this node?");
      return 2;
    }
    if (json) {
      System.out.println(r.body());
      return 0;
    }
    print(new ObjectMapper().readTree(r.body()), System.out);
    return 0;
  }

  static void print(JsonNode s, PrintStream out) {
    out.printf("node %s%n", s.path("node").asText());
    String fmt = "%-40s %-5s %-12s %-8s %-8s %s%n";
    out.printf(fmt, "VIP", "MODE", "OWNER", "HERE", "EGRESS", "BACKENDS");
    for (JsonNode v : s.path("vips")) {
      out.printf(
          fmt,
          v.path("vip").asText(),
          v.path("mode").asText(),
          v.path("owner").asText("-"),
          v.path("ownedHere").asBoolean() ? "yes" : "no",
          v.path("egressState").asText(),
          String.join(",", text(v.path("backends"))));
    }
    if (!s.path("bgpPeers").isEmpty()) {
      String pf = "%-44s %-12s %-10s %-8s %-6s %-8s %s%n";
      out.printf(pf, "BGP PEER", "STATE", "PEER AS", "UP (s)", "FLAPS", "PREFIXES", "LAST ERROR");
      for (JsonNode p : s.path("bgpPeers")) {
        out.printf(
            pf,
            p.path("peer").asText(),
            p.path("state").asText(),
            p.path("peerAsn").asText(),
            p.path("uptimeSeconds").asText(),
            p.path("flaps").asText(),
            p.path("prefixes").asText(),
            p.path("lastError").asText(""));
      }
    }
  }

  private static Iterable<String> text(JsonNode arr) {
    java.util.List<String> l = new java.util.ArrayList<>();
    arr.forEach(n -> l.add(n.asText()));
    return l;
  }
}
