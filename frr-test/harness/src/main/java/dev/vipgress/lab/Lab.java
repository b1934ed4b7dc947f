package dev.vipgress.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.Config;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The network-namespace lab as seen from test code: the control plane's {@link ApiClient}, commands
 * in lab hosts, FRR state as JSON. All of it goes through {@code frr-test/lab} and {@code ip netns
 * exec}, the same way people drive the lab, so tests exercise the real CLI.
 */
public final class Lab {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private final Path repoRoot;
  private final Path cli;
  private volatile JsonNode status;
  private volatile ApiClient apiClient;

  Lab(Path repoRoot) {
    this.repoRoot = repoRoot;
    this.cli = repoRoot.resolve("frr-test/lab");
  }

  /** The repository root, found by walking up from the working directory to the lab CLI. */
  public static Path findRepoRoot() {
    Path p = Path.of("").toAbsolutePath();
    for (Path q = p; q != null; q = q.getParent()) {
      if (Files.isExecutable(q.resolve("frr-test/lab")) && Files.exists(q.resolve("pom.xml"))) {
        return q;
      }
    }
    throw new LabException("cannot find the repository root (frr-test/lab) above " + p);
  }

  public Path repoRoot() {
    return repoRoot;
  }

  /** Runs the lab CLI with the given arguments and returns what it printed. */
  public ExecResult cli(Duration timeout, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(cli.toString());
    cmd.addAll(Arrays.asList(args));
    return run(cmd, timeout);
  }

  public ExecResult cli(String... args) {
    return cli(DEFAULT_TIMEOUT, args);
  }

  /** {@code frr-test/lab status --json}, re-read on every call. */
  public JsonNode status() {
    ExecResult r = cli("status", "--json").orThrow("lab status --json");
    try {
      status = JSON.readTree(r.stdout());
    } catch (IOException e) {
      throw new LabException("lab status --json printed no JSON: " + r.stdout(), e);
    }
    return status;
  }

  private JsonNode cachedStatus() {
    JsonNode s = status;
    return s != null ? s : status();
  }

  public boolean isUp() {
    ExecResult r = cli("status", "--json");
    if (!r.ok()) {
      return false;
    }
    try {
      JsonNode s = JSON.readTree(r.stdout());
      status = s;
      return s.path("up").asBoolean(false);
    } catch (IOException e) {
      return false;
    }
  }

  /** A host's entry in {@code status.hosts} (node1, ext, ext2, router, cp). */
  public JsonNode host(String name) {
    JsonNode h = cachedStatus().path("hosts").path(name);
    if (h.isMissingNode()) {
      throw new LabException(
          "the lab has no host " + name + "; hosts: " + cachedStatus().path("hosts"));
    }
    return h;
  }

  public String ipv4(String host) {
    return host(host).path("ipv4").asText();
  }

  public String ipv6(String host) {
    return host(host).path("ipv6").asText();
  }

  public String mac(String host) {
    return host(host).path("mac").asText();
  }

  /**
   * Network namespace of a host name, {@code lan} (the bridge), a slot name (node1-p1), a pod
   * (NS/NAME) or a namespace name itself ({@code vg-...}).
   */
  public String netns(String host) {
    if (host.equals("lan")) {
      return "vg-lan";
    }
    if (host.startsWith("vg-")) {
      return host;
    }
    JsonNode s = cachedStatus();
    if (s.path("hosts").has(host)) {
      return s.path("hosts").path(host).path("netns").asText();
    }
    if (s.path("slots").has(host)) {
      return s.path("slots").path(host).path("netns").asText();
    }
    // a pod: look in the cached status, then once more in a fresh one (created since)
    String ns = slotOfPod(s, host);
    if (ns == null) {
      ns = slotOfPod(status(), host);
    }
    if (ns != null) {
      return ns;
    }
    throw new LabException("no lab host, slot or pod named " + host);
  }

  private static String slotOfPod(JsonNode status, String pod) {
    var it = status.path("slots").fields();
    while (it.hasNext()) {
      var e = it.next();
      if (pod.equals(e.getValue().path("pod").asText(null))) {
        return e.getValue().path("netns").asText();
      }
    }
    return null;
  }

  /** Runs a command inside a lab host and waits for it (60 s at most). */
  public ExecResult exec(String host, String... cmd) {
    return exec(DEFAULT_TIMEOUT, host, cmd);
  }

  public ExecResult exec(Duration timeout, String host, String... cmd) {
    return run(inNetns(host, cmd), timeout);
  }

  /** Like {@link #exec} but throws unless the command exits 0. */
  public String execOk(String host, String... cmd) {
    return exec(host, cmd).orThrow(host + ": " + String.join(" ", cmd)).stdout();
  }

  /** Starts a command inside a lab host in the background; the caller stops it. */
  public Process spawn(String host, String... cmd) {
    try {
      return new ProcessBuilder(inNetns(host, cmd)).redirectErrorStream(false).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private List<String> inNetns(String host, String... cmd) {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns(host)));
    full.addAll(Arrays.asList(cmd));
    return full;
  }

  /** {@code vtysh -c '<command> json'} on the router, parsed. */
  public JsonNode vtysh(String command) {
    String stateDir = cachedStatus().path("stateDir").asText();
    String out =
        execOk(
            "router",
            "vtysh",
            "--vty_socket",
            stateDir + "/frr",
            "-c",
            command.endsWith(" json") ? command : command + " json");
    try {
      return JSON.readTree(out);
    } catch (IOException e) {
      throw new LabException("vtysh '" + command + "' printed no JSON: " + out, e);
    }
  }

  /** kubectl against the lab apiserver. */
  public ExecResult kubectl(String... args) {
    List<String> a = new ArrayList<>(List.of("kubectl"));
    a.addAll(Arrays.asList(args));
    return cli(a.toArray(String[]::new));
  }

  /** Path of the kubeconfig for code in the root namespace. */
  public String kubeconfig() {
    return cachedStatus().path("kubeconfig").asText();
  }

  /** Path of the kubeconfig for processes inside node namespaces. */
  public String kubeconfigLan() {
    return cachedStatus().path("kubeconfigLan").asText();
  }

  /** A client-java client for the lab apiserver (shared; do not change its settings). */
  public synchronized ApiClient apiClient() {
    if (apiClient == null) {
      apiClient = newApiClient();
    }
    return apiClient;
  }

  /** A fresh client (for tests that change timeouts or want separate connection pools). */
  public ApiClient newApiClient() {
    try {
      return Config.fromConfig(kubeconfig());
    } catch (IOException e) {
      throw new LabException("cannot read the lab kubeconfig " + kubeconfig(), e);
    }
  }

  /** Creates a Pod in a free slot of the node and returns its IPv4 address. */
  public String createPod(String nsName, String node, String labels) {
    List<String> args = new ArrayList<>(List.of("pod", "create", nsName, "--node", node));
    if (labels != null && !labels.isEmpty()) {
      args.add("--labels");
      args.add(labels);
    }
    String ip =
        cli(args.toArray(String[]::new)).orThrow("lab pod create " + nsName).stdout().trim();
    status = null;
    return ip;
  }

  public void deletePod(String nsName) {
    cli("pod", "delete", nsName).orThrow("lab pod delete " + nsName);
    status = null;
  }

  static ExecResult run(List<String> cmd, Duration timeout) {
    try {
      Process p = new ProcessBuilder(cmd).start();
      p.getOutputStream().close();
      CompletableFuture<String> out = readAsync(p.getInputStream());
      CompletableFuture<String> err = readAsync(p.getErrorStream());
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        throw new LabException(
            "timed out after " + timeout + ": " + String.join(" ", cmd) + "\n" + out.getNow(""));
      }
      return new ExecResult(p.exitValue(), out.join(), err.join());
    } catch (IOException e) {
      throw new LabException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LabException("interrupted: " + String.join(" ", cmd), e);
    }
  }

  private static CompletableFuture<String> readAsync(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            return "";
          }
        });
  }
}
