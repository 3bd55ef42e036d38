/**
 * Backstop core: the six interfaces, the pipeline, manifests and catalog, streaming transforms,
 * envelope encryption, the filesystem repository and retention.
 */
module dev.backstop.core {
    requires com.github.luben.zstd_jni;
    requires com.google.crypto.tink;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;
    // transitive: WebhookAlerts.Builder.httpClient takes an HttpClient
    requires transitive java.net.http;
    // com.sun.nio.file.ExtendedOpenOption.DIRECT: large repository objects are written with O_DIRECT
    requires jdk.unsupported;

    exports dev.backstop.core;
    exports dev.backstop.core.event;
    exports dev.backstop.core.lock;
    exports dev.backstop.core.manifest;
    exports dev.backstop.core.replication;
    exports dev.backstop.core.schedule;
    exports dev.backstop.core.validate;
    exports dev.backstop.core.transform;
    exports dev.backstop.core.crypto;
    exports dev.backstop.core.fs;
    exports dev.backstop.core.source;
    exports dev.backstop.core.retention;
    exports dev.backstop.core.log;
    exports dev.backstop.core.report;
    // implementation shared with the engine and storage modules, not API
    exports dev.backstop.core.internal.stream to dev.backstop.s3, dev.backstop.postgres, dev.backstop.mysql, dev.backstop.cli;
    exports dev.backstop.core.internal.layout to dev.backstop.s3, dev.backstop.postgres, dev.backstop.mysql, dev.backstop.cli;
    // threads, back-off and builder rules shared by Backstop's modules; not API
    exports dev.backstop.core.internal.concurrent to dev.backstop.postgres, dev.backstop.mysql, dev.backstop.s3,
            dev.backstop.cli, dev.backstop.micrometer;
    exports dev.backstop.core.internal.builder to dev.backstop.postgres, dev.backstop.mysql, dev.backstop.s3,
            dev.backstop.cli, dev.backstop.micrometer;
    // the restore drills' run: timing, validation record and log event
    exports dev.backstop.core.internal.validate to dev.backstop.postgres, dev.backstop.mysql;
    // ReportJson binds the report records reflectively
    opens dev.backstop.core.report to com.fasterxml.jackson.databind;
}
