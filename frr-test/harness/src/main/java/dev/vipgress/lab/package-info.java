/** The JUnit 5 harness for the network-namespace lab: brings it up, hands tests an ApiClient. */
package dev.vipgress.lab;
