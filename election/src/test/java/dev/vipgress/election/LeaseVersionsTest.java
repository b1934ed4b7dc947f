package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vipgress.election.LeaseVersions.Listed;
import org.junit.jupiter.api.Test;

class LeaseVersionsTest {
  @Test
  void watchEventsBeforeTheEchoOfAnAnsweredWriteAreIgnored() {
    LeaseVersions v = new LeaseVersions();
    assertTrue(v.watched("a", "900"));
    assertTrue(v.answered("a", "17")); // our write; "17" is not "less" than anything
    assertFalse(v.watched("a", "950"), "precedes our write in the stream");
    assertTrue(v.watched("a", "17"), "the echo");
    assertTrue(v.watched("a", "3"), "after the echo: in order again");
  }

  @Test
  void aResponseTheWatchAlreadyDeliveredIsNoNews() {
    LeaseVersions v = new LeaseVersions();
    assertTrue(v.watched("a", "5"));
    assertTrue(v.watched("a", "2"));
    assertFalse(v.answered("a", "5"));
    assertTrue(v.watched("a", "8"), "nothing awaited");
  }

  @Test
  void aReListThatDisagreesWithAnAwaitedEchoIsReadAgain() {
    LeaseVersions v = new LeaseVersions();
    assertTrue(v.answered("a", "40"));
    assertEquals(Listed.READ_AGAIN, v.listed("a", "12"));
    assertTrue(v.readPending("a"));
    v.read("a", "12"); // the list was newer: the watch will not deliver 12 again
    assertFalse(v.readPending("a"));
    assertTrue(v.watched("a", "77"));

    assertTrue(v.answered("b", "40"));
    assertEquals(Listed.READ_AGAIN, v.listed("b", "12"));
    v.read("b", "40"); // the list was older: the watch still delivers 12.., then 40
    assertFalse(v.watched("b", "12"));
    assertTrue(v.watched("b", "40"));

    assertTrue(v.answered("c", "40"));
    assertEquals(Listed.TAKE, v.listed("c", "40"));
    assertTrue(v.watched("c", "41"));
  }
}
