/** vipgress election module. */
package dev.vipgress.election;
