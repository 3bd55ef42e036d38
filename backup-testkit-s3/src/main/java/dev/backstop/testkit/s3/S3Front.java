package dev.backstop.testkit.s3;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An HTTP front for a local S3 server that adds what tests of S3 clients need and the local
 * server lacks. Point the S3 client at {@link #endpoint()}; requests are forwarded unchanged.
 *
 * <ul>
 *   <li><b>Atomic conditional writes.</b> S3 decides {@code If-None-Match: *} atomically; S3Mock
 *       5.2 checks and writes separately, so two concurrent writers can both win. The front runs
 *       requests carrying {@code If-None-Match} on one key one at a time, which is S3's documented
 *       behaviour.</li>
 *   <li><b>Faults on request:</b> answer matching requests with HTTP 500, drop the connection
 *       after reading part of the body, lose the answer, or damage one bit of the body on its way,
 *       a given number of times.</li>
 *   <li><b>Access key check:</b> refuse requests signed with another access key id with 403
 *       {@code InvalidAccessKeyId}, as S3 does (the secret and the signature are not checked).</li>
 * </ul>
 *
 * <p>Each request body is held in memory while it is forwarded: keep parts small.
 */
public final class S3Front implements AutoCloseable {
    /** What to do to a matching request. */
    public enum Fault {
        /** Answer {@code 500 InternalError} without forwarding. */
        SERVER_ERROR,
        /** Read some of the body, then close the connection without an answer. */
        DROP_CONNECTION,
        /** Forward the request, then close the connection without passing the answer on. */
        LOSE_RESPONSE,
        /** Flip one bit in the middle of the body and forward it, as a faulty network path would. */
        CORRUPT_BODY
    }

    /** One request as the front saw it. */
    public record Seen(String method, String path, String query) {
    }

    private static final Set<String> HOP_HEADERS = Set.of("connection", "content-length", "expect", "host", "upgrade",
            "transfer-encoding", "keep-alive", "date");
    private static final Pattern ACCESS_KEY = Pattern.compile("Credential=([^/]+)/");

    private final URI target;
    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool(DaemonThreads.named("s3-front"));
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final Map<String, ReentrantLock> keyLocks = new ConcurrentHashMap<>();
    private final List<Rule> rules = new CopyOnWriteArrayList<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private volatile String requiredAccessKey;

    private record Rule(Predicate<Seen> matches, Fault fault, AtomicInteger remaining) {
    }

    private S3Front(URI target) throws IOException {
        this.target = target;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** A front for the server at {@code target} on a random loopback port. */
    public static S3Front of(URI target) {
        try {
            return new S3Front(target);
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the S3 front", e);
        }
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Applies {@code fault} to the next {@code times} requests that match. */
    public S3Front inject(Predicate<Seen> matches, Fault fault, int times) {
        rules.add(new Rule(matches, fault, new AtomicInteger(times)));
        return this;
    }

    /** Matches the upload of multipart part {@code number}. */
    public static Predicate<Seen> uploadOfPart(int number) {
        return s -> s.method().equals("PUT") && s.query() != null && s.query().matches("(.*&)?partNumber=" + number + "(&.*)?");
    }

    /** Matches CompleteMultipartUpload. */
    public static Predicate<Seen> completeOfMultipart() {
        return s -> s.method().equals("POST") && s.query() != null && s.query().matches("(.*&)?uploadId=.*");
    }

    /** Refuses requests whose signature names another access key id. */
    public S3Front requireAccessKey(String accessKeyId) {
        this.requiredAccessKey = accessKeyId;
        return this;
    }

    /** Every request seen so far, in arrival order. */
    public List<Seen> seen() {
        return List.copyOf(seen);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            Seen s = new Seen(ex.getRequestMethod(), ex.getRequestURI().getRawPath(), ex.getRequestURI().getRawQuery());
            seen.add(s);
            String key = requiredAccessKey;
            if (key != null) {
                Matcher m = ACCESS_KEY.matcher(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
                if (!m.find() || !m.group(1).equals(key)) {
                    ex.getRequestBody().readAllBytes();
                    error(ex, 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
                    return;
                }
            }
            for (Rule r : rules) {
                if (r.matches().test(s) && r.remaining().getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    if (r.fault() == Fault.LOSE_RESPONSE) {
                        forward(ex, true, false);
                    } else if (r.fault() == Fault.CORRUPT_BODY) {
                        forward(ex, false, true);
                    } else if (r.fault() == Fault.SERVER_ERROR) {
                        ex.getRequestBody().readAllBytes();
                        error(ex, 500, "InternalError", "We encountered an internal error. Please try again.");
                    } else {
                        ex.getRequestBody().readNBytes(1024);
                        // closing without a response makes the server drop the connection
                    }
                    return;
                }
            }
            if (ex.getRequestHeaders().containsKey("If-None-Match")) {
                ReentrantLock lock = keyLocks.computeIfAbsent(s.path(), p -> new ReentrantLock());
                lock.lock();
                try {
                    forward(ex, false, false);
                } finally {
                    lock.unlock();
                }
            } else {
                forward(ex, false, false);
            }
        }
    }

    private void forward(HttpExchange ex, boolean loseResponse, boolean corrupt) throws IOException {
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readAllBytes();
        }
        if (corrupt && body.length > 0) {
            body[body.length / 2] ^= 0x10;
        }
        URI uri = target.resolve(ex.getRequestURI().getRawPath()
                + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery()));
        HttpRequest.Builder req = HttpRequest.newBuilder(uri)
                .method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        ex.getRequestHeaders().forEach((name, values) -> {
            if (!HOP_HEADERS.contains(name.toLowerCase(java.util.Locale.ROOT))) {
                values.forEach(v -> req.header(name, v));
            }
        });
        HttpResponse<byte[]> resp;
        try {
            resp = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted forwarding " + uri, e);
        }
        if (loseResponse) {
            return;
        }
        resp.headers().map().forEach((name, values) -> {
            String n = name.toLowerCase(java.util.Locale.ROOT);
            if (!HOP_HEADERS.contains(n) || (n.equals("content-length") && ex.getRequestMethod().equals("HEAD"))) {
                ex.getResponseHeaders().put(name, values);
            }
        });
        byte[] out = resp.body();
        boolean noBody = ex.getRequestMethod().equals("HEAD") || resp.statusCode() == 204 || resp.statusCode() == 304;
        ex.sendResponseHeaders(resp.statusCode(), noBody ? -1 : (out.length == 0 ? -1 : out.length));
        if (!noBody && out.length > 0) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(out);
            }
        }
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        byte[] xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" + message
                + "</Message><RequestId>s3-front</RequestId></Error>").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/xml");
        ex.sendResponseHeaders(status, xml.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(xml);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }

    @Override
    public String toString() {
        return "S3Front[" + endpoint() + " -> " + target + "]";
    }
}
