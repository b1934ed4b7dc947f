/** vipgress speaker module. */
package dev.vipgress.speaker;
