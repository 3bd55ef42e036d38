/**
 * The {@code backstop} command line: backups, restores, checks, drills, expiry and keys driven by
 * a configuration file in the seeds' JSON shape (or YAML).
 */
module dev.backstop.cli {
    requires transitive dev.backstop.core;
    requires transitive dev.backstop.postgres;
    requires dev.backstop.s3;
    requires dev.backstop.micrometer;
    requires ch.qos.logback.classic;
    requires ch.qos.logback.core;
    requires dev.backstop.mysql;
    requires info.picocli;
    requires org.slf4j;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.yaml;

    exports dev.backstop.cli;
    exports dev.backstop.cli.config;
    // picocli and Jackson reach the command classes and the JSON output reflectively
    opens dev.backstop.cli to info.picocli, com.fasterxml.jackson.databind;
}
