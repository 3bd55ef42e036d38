package dev.backstop.micrometer;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Serves a {@link PrometheusMeterRegistry} at {@code GET /metrics} in the Prometheus text format
 * (version 0.0.4), on the JDK's own HTTP server: nothing else is exposed, no web framework is
 * pulled in.
 *
 * <p><b>Guarantees.</b> {@code /metrics} answers 200 with the registry's scrape; {@code HEAD} the
 * same without a body; any other method 405, any other path 404. A scrape reads gauges, and the
 * gauges of {@link MicrometerListener} read the repository at most once per cache period.
 *
 * <p><b>Restrictions.</b> No TLS and no authentication: bind it to an address only the scraper
 * reaches (metrics carry no secrets, but they say when backups run).
 *
 * <p><b>Threading.</b> Scrapes run on the executor given to {@link #start(PrometheusMeterRegistry,
 * InetSocketAddress, Executor)}, or on the server's one dispatcher thread. {@link #close()} stops
 * the server; it never closes the registry or the executor (they are the caller's).
 *
 * <p><b>Sample.</b>
 * <pre>{@code
 * PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
 * metrics.bindTo(registry);   // a MicrometerListener
 * try (PrometheusEndpoint endpoint = PrometheusEndpoint.start(registry, new InetSocketAddress(9464))) {
 *     ...                     // scrape http://host:9464/metrics
 * }
 * }</pre>
 */
public final class PrometheusEndpoint implements AutoCloseable {
    /** The path scrapes are served at. */
    public static final String PATH = "/metrics";
    /** The content type of the text format the endpoint writes. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;

    private PrometheusEndpoint(HttpServer server) {
        this.server = server;
    }

    /**
     * Starts serving {@code registry} at {@code address} (port 0: a free port, see {@link
     * #address()}), answering on the server's dispatcher thread.
     *
     * @throws IOException when the address cannot be bound (the port is taken)
     */
    public static PrometheusEndpoint start(PrometheusMeterRegistry registry, InetSocketAddress address) throws IOException {
        return start(registry, address, null);
    }

    /**
     * Starts serving {@code registry} at {@code address}, answering on {@code executor} (null: the
     * server's dispatcher thread).
     *
     * @throws IOException when the address cannot be bound (the port is taken)
     */
    public static PrometheusEndpoint start(PrometheusMeterRegistry registry, InetSocketAddress address, Executor executor)
            throws IOException {
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(address, "address");
        HttpServer server;
        try {
            server = HttpServer.create(address, 0);
        } catch (IOException e) {
            throw new IOException("metrics endpoint: could not listen on " + address + ": " + e.getMessage(), e);
        }
        server.createContext("/", ex -> serve(registry, ex));
        server.setExecutor(executor);
        server.start();
        return new PrometheusEndpoint(server);
    }

    private static void serve(PrometheusMeterRegistry registry, HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestURI().getPath().equals(PATH)) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            boolean head = ex.getRequestMethod().equals("HEAD");
            if (!head && !ex.getRequestMethod().equals("GET")) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                ex.sendResponseHeaders(405, -1);
                return;
            }
            byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
            if (head) {
                ex.sendResponseHeaders(200, -1);
                return;
            }
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** The bound address, with the actual port when 0 was asked for. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** The scrape URL, {@code http://<host>:<port>/metrics}. */
    public URI uri() {
        InetSocketAddress a = address();
        String host = a.getAddress().isAnyLocalAddress() ? "localhost" : a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + a.getPort() + PATH);
    }

    /** Stops listening; a scrape in progress gets up to a second to finish. */
    @Override
    public void close() {
        server.stop(1);
    }
}
