package dev.vipgress.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Compares text with a file under {@code src/test/resources/golden}; {@code -Dgolden.update=true}
 * rewrites the files instead.
 */
final class Golden {
  private static final Path DIR = Path.of("src/test/resources/golden");

  private Golden() {}

  static void check(String name, List<String> lines) {
    check(name, String.join("\n", lines) + "\n");
  }

  static void check(String name, String actual) {
    Path p = DIR.resolve(name);
    try {
      if (Boolean.getBoolean("golden.update") || !Files.exists(p)) {
        Files.createDirectories(DIR);
        Files.writeString(p, actual, StandardCharsets.UTF_8);
        if (!Boolean.getBoolean("golden.update")) {
          throw new AssertionError("golden file " + p + " was missing; written, review and rerun");
        }
        return;
      }
      assertEquals(Files.readString(p, StandardCharsets.UTF_8), actual, "golden file " + p);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
