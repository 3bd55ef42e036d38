/** Backup metrics for Micrometer: a listener that records them and a Prometheus endpoint that serves them. */
package dev.backstop.micrometer;
