package dev.backstop.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrometheusEndpointTest {
    @TempDir
    Path tmp;
    final MicrometerListenerTest.StepClock clock = new MicrometerListenerTest.StepClock(Instant.parse("2026-11-21T02:00:00Z"));

    record Response(int status, String contentType, String body) {
    }

    static Response get(URI uri, String method) throws IOException {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setRequestMethod(method);
        try {
            int status = c.getResponseCode();
            InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream();
            String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return new Response(status, c.getContentType(), body);
        } finally {
            c.disconnect();
        }
    }

    /** The samples of a text-format scrape: series (name and labels as written) to value. */
    static Map<String, Double> samples(String body) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String line : body.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return out;
    }

    @Test
    void scrapeAfterAVerifiedBackup_showsItsCountersBytesAndTheNewestVerifiedAge() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MicrometerListener metrics = MicrometerListener.builder().repository(repo).clock(clock).cacheFor(Duration.ZERO)
                .tags(Tags.of("repository", "orders")).build();
        metrics.bindTo(registry);
        Manifest m = BackupPipeline.builder().source(MicrometerListenerTest.bytes(5000)).repository(repo).noEncryption()
                .listener(metrics).clock(clock).build().run();
        Restore.builder().repository(repo).allowUnencrypted().listener(metrics).clock(clock).build().verify(m);
        clock.advance(Duration.ofMinutes(90));

        try (PrometheusEndpoint endpoint = PrometheusEndpoint.start(registry,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            Response r = get(endpoint.uri(), "GET");

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.contentType()).isEqualTo(PrometheusEndpoint.CONTENT_TYPE);
            Map<String, Double> s = samples(r.body());
            assertThat(s).containsEntry("backstop_backup_succeeded_total{repository=\"orders\",type=\"raw\"}", 1.0)
                    .containsEntry("backstop_backup_bytes_in_bytes_total{repository=\"orders\",type=\"raw\"}", 5000.0)
                    .containsEntry("backstop_backup_bytes_stored_bytes_total{repository=\"orders\",type=\"raw\"}",
                            (double) m.storedBytes())
                    .containsEntry("backstop_backup_newest_verified_age_seconds{repository=\"orders\"}", 5400.0)
                    .containsEntry("backstop_validation_results_total{outcome=\"pass\",repository=\"orders\",validator=\"full-decode\"}",
                            1.0)
                    .containsEntry("backstop_backup_duration_seconds_count{outcome=\"success\",repository=\"orders\",type=\"raw\"}",
                            1.0);
            assertThat(r.body()).contains("# TYPE backstop_backup_newest_verified_age_seconds gauge");
        }
    }

    @Test
    void otherPathsAndMethods_areRefused_andHeadHasNoBody() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (PrometheusEndpoint endpoint = PrometheusEndpoint.start(registry,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            URI base = endpoint.uri();

            assertThat(get(base.resolve("/"), "GET").status()).isEqualTo(404);
            assertThat(get(base.resolve("/metrics/x"), "GET").status()).isEqualTo(404);
            assertThat(get(base, "POST").status()).isEqualTo(405);
            Response head = get(base, "HEAD");
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.body()).isEmpty();
        }
    }

    @Test
    void closedEndpoint_freesItsPort() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        InetSocketAddress bound;
        try (PrometheusEndpoint endpoint = PrometheusEndpoint.start(registry,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            bound = endpoint.address();
            assertThat(bound.getPort()).isPositive();
        }
        try (PrometheusEndpoint again = PrometheusEndpoint.start(registry, bound)) {
            assertThat(again.address().getPort()).isEqualTo(bound.getPort());
        }
    }
}
