package dev.backstop.testkit.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.KmsClientBuilder;

/**
 * A stand-in for AWS KMS on this machine, for tests of code that wraps keys with KMS ({@code
 * KmsKek}): a real HTTP server on a random loopback port speaking KMS's JSON protocol for {@code
 * TrentService.Encrypt} and {@code TrentService.Decrypt} with symmetric keys it creates itself.
 * Any client reaches it, the test's own {@link KmsClient} as well as a child process (a command
 * line given {@code AWS_ENDPOINT_URL_KMS=}{@link #endpoint()}). {@code TrentService.RotateKeyOnDemand}
 * gives a key new material, as KMS's on-demand rotation does.
 *
 * <pre>{@code
 * try (LocalKms kms = LocalKms.start(); KmsClient client = kms.clientBuilder().build()) {
 *     KeyEncryptionKey kek = KmsKek.of(client, kms.createKey());
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> As KMS does: a ciphertext names the key that made it and is bound to the
 * encryption context; {@code Decrypt} naming another key than the ciphertext's fails with {@code
 * IncorrectKeyException}; another context or a damaged blob fails with {@code
 * InvalidCiphertextException}; an unknown key fails {@code Encrypt} with {@code NotFoundException}; a
 * disabled key ({@link #disableKey}) fails both with {@code DisabledException}. After a rotation,
 * Encrypt uses the new material and Decrypt still opens what the old material encrypted. A key is named by its
 * key id or its ARN, interchangeably. Key material never leaves this object (ciphertexts are AES-GCM
 * under it). {@link #close()} stops the server: later requests find nothing listening.
 *
 * <p><b>What it does not do.</b> It checks no credentials or signatures, knows no aliases, grants,
 * key policies, asymmetric keys or other operations (they answer {@code
 * UnsupportedOperationException}), and keeps its keys in memory only: a restarted server knows none
 * of the old ones.
 *
 * <p><b>Threading.</b> Safe for concurrent use.
 */
public final class LocalKms implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ARN_PREFIX = "arn:aws:kms:us-east-1:111122223333:key/";
    private static final int NONCE_BYTES = 12;

    private final SecureRandom random = new SecureRandom();
    /** Each key's material, oldest first: Encrypt uses the newest, Decrypt the one its ciphertext names. */
    private final Map<String, List<byte[]>> keys = new ConcurrentHashMap<>();
    private final Map<String, Boolean> disabled = new ConcurrentHashMap<>();
    private final HttpServer server;
    private final ExecutorService threads;
    private final URI endpoint;

    private LocalKms() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("could not open a port for the local KMS", e);
        }
        threads = Executors.newCachedThreadPool(DaemonThreads.named("local-kms"));
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
        endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Starts a server with no keys, answering once this returns. */
    public static LocalKms start() {
        return new LocalKms();
    }

    /** Where clients connect: {@code http://127.0.0.1:<port>}. */
    public URI endpoint() {
        return endpoint;
    }

    /** The region its ARNs name; clients must be built for some region, this one fits. */
    public Region region() {
        return Region.US_EAST_1;
    }

    /** Credentials a client can sign with; their values are not checked. */
    public AwsCredentialsProvider credentials() {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create("local-kms-access", "local-kms-secret"));
    }

    /** A client builder aimed at this server; you own and close what you build. */
    public KmsClientBuilder clientBuilder() {
        return KmsClient.builder().endpointOverride(endpoint()).region(region()).credentialsProvider(credentials());
    }

    /** Creates a symmetric key with fresh random material; returns its ARN (its key id is the part after {@code key/}). */
    public String createKey() {
        String id = UUID.randomUUID().toString();
        keys.put(id, new CopyOnWriteArrayList<>(List.of(newMaterial())));
        return ARN_PREFIX + id;
    }

    /** Disables key {@code keyIdOrArn}: Encrypt and Decrypt with it fail with {@code DisabledException} until enabled. */
    public void disableKey(String keyIdOrArn) {
        disabled.put(known(keyIdOrArn), Boolean.TRUE);
    }

    /** Enables key {@code keyIdOrArn} again. */
    public void enableKey(String keyIdOrArn) {
        disabled.remove(known(keyIdOrArn));
    }

    /** The current raw material of a key, so a test can check that it appears nowhere (package-private: never API). */
    byte[] material(String keyIdOrArn) {
        List<byte[]> versions = keys.get(known(keyIdOrArn));
        return versions.get(versions.size() - 1).clone();
    }

    private byte[] newMaterial() {
        byte[] material = new byte[32];
        random.nextBytes(material);
        return material;
    }

    private String known(String keyIdOrArn) {
        return idOf(keyIdOrArn).filter(keys::containsKey)
                .orElseThrow(() -> new IllegalArgumentException("no key " + keyIdOrArn + " in " + this));
    }

    /** The key id a key id or key ARN names; empty for anything else (aliases, other accounts). */
    private static Optional<String> idOf(String keyIdOrArn) {
        String id = keyIdOrArn.startsWith(ARN_PREFIX) ? keyIdOrArn.substring(ARN_PREFIX.length()) : keyIdOrArn;
        return id.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") ? Optional.of(id) : Optional.empty();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String target = String.valueOf(ex.getRequestHeaders().getFirst("X-Amz-Target"));
            JsonNode req = JSON.readTree(ex.getRequestBody());
            switch (target) {
                case "TrentService.Encrypt" -> encrypt(ex, req);
                case "TrentService.Decrypt" -> decrypt(ex, req);
                case "TrentService.RotateKeyOnDemand" -> rotate(ex, req);
                default -> error(ex, "UnsupportedOperationException", "the local KMS does not implement " + target);
            }
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    private void encrypt(HttpExchange ex, JsonNode req) throws IOException, GeneralSecurityException {
        String given = req.path("KeyId").asText();
        Optional<String> id = idOf(given).filter(keys::containsKey);
        if (id.isEmpty()) {
            error(ex, "NotFoundException", "Key '" + given + "' does not exist");
            return;
        }
        if (disabled.containsKey(id.get())) {
            error(ex, "DisabledException", ARN_PREFIX + id.get() + " is disabled.");
            return;
        }
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        List<byte[]> versions = keys.get(id.get());
        int version = versions.size() - 1;
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(versions.get(version), "AES"), new GCMParameterSpec(128, nonce));
        c.updateAAD(aad(id.get(), req.path("EncryptionContext")));
        byte[] ct = c.doFinal(Base64.getDecoder().decode(req.path("Plaintext").asText()));
        byte[] name = id.get().getBytes(StandardCharsets.UTF_8);
        ByteBuffer blob = ByteBuffer.allocate(2 + name.length + 2 + NONCE_BYTES + ct.length);
        blob.putShort((short) name.length).put(name).putShort((short) version).put(nonce).put(ct);
        ObjectNode out = JSON.createObjectNode();
        out.put("CiphertextBlob", Base64.getEncoder().encodeToString(blob.array()));
        out.put("KeyId", ARN_PREFIX + id.get());
        out.put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        reply(ex, 200, out);
    }

    private void decrypt(HttpExchange ex, JsonNode req) throws IOException {
        String id;
        int version;
        byte[] nonce = new byte[NONCE_BYTES];
        byte[] ct;
        try {
            ByteBuffer blob = ByteBuffer.wrap(Base64.getDecoder().decode(req.path("CiphertextBlob").asText()));
            byte[] name = new byte[blob.getShort()];
            blob.get(name);
            version = blob.getShort();
            blob.get(nonce);
            id = new String(name, StandardCharsets.UTF_8);
            ct = new byte[blob.remaining()];
            blob.get(ct);
        } catch (IllegalArgumentException | BufferUnderflowException malformed) {
            error(ex, "InvalidCiphertextException", null);
            return;
        }
        String wanted = req.path("KeyId").asText(null);
        if (wanted != null && !idOf(wanted).equals(Optional.of(id))) {
            error(ex, "IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation.");
            return;
        }
        List<byte[]> versions = keys.get(id);
        if (versions == null || version < 0 || version >= versions.size()) {
            error(ex, "InvalidCiphertextException", null);
            return;
        }
        byte[] key = versions.get(version);
        if (disabled.containsKey(id)) {
            error(ex, "DisabledException", ARN_PREFIX + id + " is disabled.");
            return;
        }
        byte[] plain;
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
            c.updateAAD(aad(id, req.path("EncryptionContext")));
            plain = c.doFinal(ct);
        } catch (GeneralSecurityException wrongContextOrDamaged) {
            error(ex, "InvalidCiphertextException", null);
            return;
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("Plaintext", Base64.getEncoder().encodeToString(plain));
        out.put("KeyId", ARN_PREFIX + id);
        out.put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        reply(ex, 200, out);
    }

    /** New material for Encrypt; what older material encrypted still decrypts, as after KMS's own rotation. */
    private void rotate(HttpExchange ex, JsonNode req) throws IOException {
        String given = req.path("KeyId").asText();
        Optional<String> id = idOf(given).filter(keys::containsKey);
        if (id.isEmpty()) {
            error(ex, "NotFoundException", "Key '" + given + "' does not exist");
            return;
        }
        if (disabled.containsKey(id.get())) {
            error(ex, "DisabledException", ARN_PREFIX + id.get() + " is disabled.");
            return;
        }
        keys.get(id.get()).add(newMaterial());
        ObjectNode out = JSON.createObjectNode();
        out.put("KeyId", ARN_PREFIX + id.get());
        reply(ex, 200, out);
    }

    /** The key id and the encryption context in a canonical (sorted) form, as authenticated data. */
    private static byte[] aad(String keyId, JsonNode context) {
        Map<String, String> sorted = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : context.properties()) {
            sorted.put(e.getKey(), e.getValue().asText());
        }
        return (keyId + "\n" + sorted).getBytes(StandardCharsets.UTF_8);
    }

    private static void error(HttpExchange ex, String type, String message) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        out.put("__type", type);
        if (message != null) {
            out.put("message", message);
        }
        reply(ex, 400, out);
    }

    private static void reply(HttpExchange ex, int status, ObjectNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.1");
        ex.getResponseHeaders().set("x-amzn-RequestId", UUID.randomUUID().toString());
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(bytes);
        }
    }

    /** Stops the server; safe to call twice. */
    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }

    @Override
    public String toString() {
        return "LocalKms[" + endpoint + "]";
    }
}
