package dev.vipgress.nat;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * New-connection-rate load for the nat benchmark. {@code server PORT}: accepts and closes. {@code
 * client HOST PORT MILLIS THREADS}: opens connections as fast as it can (closing each with a RST so
 * no TIME_WAIT piles up) and prints {@code cps <connections per second> errors <n>}.
 */
public final class CpsTool {
  private CpsTool() {}

  public static void main(String[] args) throws Exception {
    if (args[0].equals("server")) {
      try (ServerSocket ss = new ServerSocket()) {
        ss.setReuseAddress(true);
        ss.bind(new InetSocketAddress(Integer.parseInt(args[1])), 4096);
        while (true) {
          Socket s = ss.accept();
          s.close();
        }
      }
    }
    String host = args[1];
    int port = Integer.parseInt(args[2]);
    long millis = Long.parseLong(args[3]);
    int threads = Integer.parseInt(args[4]);
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long end = System.nanoTime() + millis * 1_000_000L;
    Thread[] ts = new Thread[threads];
    for (int i = 0; i < threads; i++) {
      ts[i] =
          new Thread(
              () -> {
                InetSocketAddress a = new InetSocketAddress(host, port);
                while (System.nanoTime() < end) {
                  try (Socket s = new Socket()) {
                    s.setSoLinger(true, 0);
                    s.connect(a, 1000);
                    ok.incrementAndGet();
                  } catch (Exception e) {
                    errors.incrementAndGet();
                  }
                }
              });
      ts[i].start();
    }
    for (Thread t : ts) {
      t.join();
    }
    System.out.printf("cps %.1f errors %d%n", ok.get() * 1000.0 / millis, errors.get());
  }
}
