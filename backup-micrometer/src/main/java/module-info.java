/**
 * Backstop's backups, restores, validations and expiry as Micrometer meters: {@link
 * dev.backstop.micrometer.MicrometerListener}, served to Prometheus by {@link
 * dev.backstop.micrometer.PrometheusEndpoint}.
 */
module dev.backstop.micrometer {
    requires transitive dev.backstop.core;
    requires transitive micrometer.core;
    requires transitive micrometer.registry.prometheus;
    requires jdk.httpserver;
    requires org.slf4j;

    exports dev.backstop.micrometer;
}
