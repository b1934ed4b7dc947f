/**
 * Speaker configuration: a YAML file validated whole into a typed {@link
 * dev.vipgress.speaker.config.SpeakerConfig}; every error is reported at once.
 */
package dev.vipgress.speaker.config;
