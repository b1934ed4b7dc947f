package dev.vipgress.nat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One long-lived TCP flow for the lab tests, run inside a pod namespace: connects to the echo
 * service's line port, then sends a numbered line every {@code intervalMs} and prints every echo
 * with its arrival time. Output lines: {@code peer <what the server saw>}, {@code echo <n> <epoch
 * ms>}, {@code closed <why>}.
 */
public final class FlowProbe {
  private FlowProbe() {}

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    long interval = Long.parseLong(args[2]);
    Socket s = new Socket();
    s.setTcpNoDelay(true);
    s.connect(new InetSocketAddress(host, port), 5000);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
    Thread reader =
        new Thread(
            () -> {
              try {
                String line;
                while ((line = in.readLine()) != null) {
                  if (line.startsWith("peer=")) {
                    System.out.println("peer " + line.substring(5).trim());
                  } else if (line.startsWith("seq ")) {
                    System.out.println(
                        "echo " + line.substring(4).trim() + " " + System.currentTimeMillis());
                  }
                  System.out.flush();
                }
                System.out.println("closed eof");
              } catch (Exception e) {
                System.out.println("closed " + e);
              }
              System.out.flush();
              System.exit(0);
            });
    reader.setDaemon(true);
    reader.start();
    OutputStream out = s.getOutputStream();
    for (long n = 0; ; n++) {
      try {
        out.write(("seq " + n + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
      } catch (Exception e) {
        System.out.println("closed " + e);
        System.out.flush();
        System.exit(0);
      }
      Thread.sleep(interval);
    }
  }
}
