package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.kubernetes.client.openapi.models.V1Lease;

final class V1LeaseCheck {
  private V1LeaseCheck() {}

  static void assertNotFenced(V1Lease l) {
    assertFalse(Peer.isFenced(l), () -> "fenced: " + l.getMetadata().getAnnotations());
  }
}
