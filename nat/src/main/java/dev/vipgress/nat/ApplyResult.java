package dev.vipgress.nat;

import java.util.List;
import java.util.Objects;

/**
 * What {@link NftBackend#apply} left out: every element the plan or the kernel refused, with why.
 * Everything else of the desired state is in place. Refused elements cost only themselves: a pod
 * whose steering was refused stays held closed (dropped toward SNATed destinations), and the next
 * apply tries each refused element again on its own (it diffs against the kernel).
 *
 * @param refused the elements left out, in the order they were found
 */
public record ApplyResult(List<Refused> refused) {
  public ApplyResult {
    refused = List.copyOf(refused);
  }

  public static ApplyResult complete() {
    return new ApplyResult(List.of());
  }

  /** Whether everything desired is in place. */
  public boolean isComplete() {
    return refused.isEmpty();
  }

  /**
   * One element left out.
   *
   * @param element the element as the tool spells it (an nft set or map element, an {@code ip}
   *     batch line) or as the desired state names it ({@code steer 10.244.2.2 → node2})
   * @param reason why, and what to do about it
   */
  public record Refused(String element, String reason) {
    public Refused {
      Objects.requireNonNull(element, "element");
      Objects.requireNonNull(reason, "reason");
    }

    @Override
    public String toString() {
      return element + ": " + reason;
    }
  }
}
