package dev.vipgress.speaker;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point: parses the command line and hands over; no logic lives here. */
@Command(
    name = "vipgress",
    mixinStandardHelpOptions = true,
    version = "vipgress 0.1.0",
    description = "One network identity in both directions for LoadBalancer Services.",
    subcommands = {RunCommand.class, StatusCommand.class})
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
