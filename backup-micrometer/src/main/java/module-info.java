/**
 * Backstop's backups, restores, validations and expiry as Micrometer meters: {@link
 * dev.backstop.micrometer.MicrometerListener}.
 */
module dev.backstop.micrometer {
    requires transitive dev.backstop.core;
    requires transitive micrometer.core;
    requires org.slf4j;

    exports dev.backstop.micrometer;
}
