package dev.vipgress.lab;

import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Brings the lab up once per test run (or reuses one that is already up) and hands tests a {@link
 * Lab}. A lab this extension brought up is torn down when the test JVM's root context closes; a lab
 * that was already up (for example by {@code make test}) is left to its owner.
 *
 * <p>Lab tests need root (network namespaces); without it they are skipped and say so.
 */
public final class LabExtension implements BeforeAllCallback, ParameterResolver {
  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(LabExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    lab(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext c) {
    return p.getParameter().getType() == Lab.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext c) {
    return lab(c);
  }

  private static Lab lab(ExtensionContext context) {
    Assumptions.assumeTrue(
        isRoot(), "lab tests need root (network namespaces); run `sudo make test` to include them");
    return context
        .getRoot()
        .getStore(NS)
        .getOrComputeIfAbsent("lab", k -> new Session(), Session.class)
        .lab;
  }

  private static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  /** One per test JVM: remembers whether it brought the lab up, to tear down only its own. */
  private static final class Session implements ExtensionContext.Store.CloseableResource {
    final Lab lab = new Lab(Lab.findRepoRoot());
    final boolean broughtUp;

    Session() {
      if (lab.isUp()) {
        broughtUp = false;
      } else {
        lab.cli(Duration.ofMinutes(30), "up").orThrow("frr-test/lab up");
        broughtUp = true;
      }
      lab.status();
    }

    @Override
    public void close() {
      if (broughtUp && !Boolean.getBoolean("vipgress.lab.keep")) {
        lab.cli(Duration.ofMinutes(2), "down");
      }
    }
  }
}
