package dev.vipgress.speaker;

import dev.vipgress.speaker.config.ConfigException;
import dev.vipgress.speaker.config.ConfigLoader;
import dev.vipgress.speaker.config.SpeakerConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vipgress run}: the DaemonSet process. */
@Command(name = "run", description = "Run the speaker on this node.")
final class RunCommand implements Callable<Integer> {
  @Option(
      names = "--config",
      description = "YAML configuration file (watched for changes); default: the embedded default")
  Path config;

  @Option(
      names = "--kubeconfig",
      description = "kubeconfig file; default: $KUBECONFIG, else the in-cluster service account")
  Path kubeconfig;

  @Option(
      names = "--node",
      defaultValue = "${env:NODE_NAME}",
      description = "this node's name (default: $NODE_NAME)")
  String node;

  @Override
  public Integer call() throws Exception {
    if (node == null || node.isBlank()) {
      System.err.println(
          "vipgress run: no node name; set NODE_NAME (downward API spec.nodeName) or --node");
      return 2;
    }
    SpeakerConfig cfg;
    try {
      cfg = config == null ? ConfigLoader.defaults() : ConfigLoader.load(config);
    } catch (ConfigException e) {
      System.err.println("vipgress run: " + e.getMessage());
      return 2;
    }
    String kc = kubeconfig != null ? kubeconfig.toString() : System.getenv("KUBECONFIG");
    try (Speaker s = Speaker.create(node, cfg, config, kc)) {
      s.start();
      Runtime.getRuntime().addShutdownHook(new Thread(s::close, "shutdown"));
      s.awaitStop();
    } catch (Speaker.StartupException e) {
      System.err.println("vipgress run: " + e.getMessage());
      return 1;
    }
    return 0;
  }
}
