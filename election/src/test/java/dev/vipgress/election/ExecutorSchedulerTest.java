package dev.vipgress.election;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ExecutorSchedulerTest {

  @Test
  void priorityTasksOvertakeABacklogAndTimersFireInOrder() throws Exception {
    try (ExecutorScheduler s = new ExecutorScheduler("test-loop")) {
      List<String> order = Collections.synchronizedList(new ArrayList<>());
      CountDownLatch gate = new CountDownLatch(1);
      CountDownLatch done = new CountDownLatch(1);
      s.execute(
          () -> {
            try {
              gate.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      for (int i = 0; i < 100; i++) {
        int n = i;
        s.execute(() -> order.add("n" + n));
      }
      s.executePriority(() -> order.add("p"));
      s.schedule(() -> order.add("t2"), TimeUnit.MILLISECONDS.toNanos(40));
      s.schedule(() -> order.add("t1"), TimeUnit.MILLISECONDS.toNanos(20));
      s.schedule(done::countDown, TimeUnit.MILLISECONDS.toNanos(60));
      gate.countDown();
      assertTrue(done.await(5, TimeUnit.SECONDS));
      assertEquals("p", order.get(0), "the priority task overtakes the backlog");
      assertEquals(List.of("t1", "t2"), order.subList(101, 103));
      CountDownLatch inLoop = new CountDownLatch(1);
      s.execute(
          () -> {
            if (s.inLoop()) {
              inLoop.countDown();
            }
          });
      assertTrue(inLoop.await(5, TimeUnit.SECONDS));
    }
  }
}
