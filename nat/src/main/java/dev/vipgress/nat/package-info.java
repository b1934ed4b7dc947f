/** vipgress nat module. */
package dev.vipgress.nat;
