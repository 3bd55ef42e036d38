package dev.backstop.testkit.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A fake of AWS KMS for tests: an HTTP endpoint speaking KMS's JSON protocol
 * ({@code X-Amz-Target: TrentService.Encrypt} / {@code TrentService.Decrypt}) for symmetric keys
 * it creates itself. Like KMS, a ciphertext names its key, is bound to the encryption context,
 * and Decrypt with a {@code KeyId} refuses a ciphertext of another key ({@code
 * IncorrectKeyException}); a wrong context or tampered blob is {@code
 * InvalidCiphertextException}. It does not check signatures and knows no aliases, grants or
 * policies.
 */
final class FakeKmsEndpoint implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SecureRandom random = new SecureRandom();
    private final Map<String, byte[]> keys = new ConcurrentHashMap<>();
    private final HttpServer server;

    FakeKmsEndpoint() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", this::handle);
        server.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Creates a key and returns its ARN. */
    String createKey() {
        byte[] k = new byte[32];
        random.nextBytes(k);
        String arn = "arn:aws:kms:us-east-1:111122223333:key/" + java.util.UUID.randomUUID();
        keys.put(arn, k);
        return arn;
    }

    /** The raw key material, so tests can check it never leaks. */
    byte[] material(String arn) {
        return keys.get(arn).clone();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String target = String.valueOf(ex.getRequestHeaders().getFirst("X-Amz-Target"));
            JsonNode req = JSON.readTree(ex.getRequestBody());
            switch (target) {
                case "TrentService.Encrypt" -> encrypt(ex, req);
                case "TrentService.Decrypt" -> decrypt(ex, req);
                default -> error(ex, 400, "UnsupportedOperationException", "fake KMS does not implement " + target);
            }
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    private void encrypt(HttpExchange ex, JsonNode req) throws IOException, GeneralSecurityException {
        String keyId = req.path("KeyId").asText();
        byte[] key = keys.get(keyId);
        if (key == null) {
            error(ex, 400, "NotFoundException", "Key '" + keyId + "' does not exist");
            return;
        }
        byte[] plaintext = Base64.getDecoder().decode(req.path("Plaintext").asText());
        byte[] nonce = new byte[12];
        random.nextBytes(nonce);
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
        c.updateAAD(aad(keyId, req.path("EncryptionContext")));
        byte[] ct = c.doFinal(plaintext);
        byte[] id = keyId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer blob = ByteBuffer.allocate(2 + id.length + nonce.length + ct.length);
        blob.putShort((short) id.length).put(id).put(nonce).put(ct);
        ObjectNode out = JSON.createObjectNode();
        out.put("CiphertextBlob", Base64.getEncoder().encodeToString(blob.array()));
        out.put("KeyId", keyId);
        out.put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        reply(ex, 200, out);
    }

    private void decrypt(HttpExchange ex, JsonNode req) throws IOException {
        ByteBuffer blob = ByteBuffer.wrap(Base64.getDecoder().decode(req.path("CiphertextBlob").asText()));
        String keyId;
        byte[] nonce = new byte[12];
        byte[] ct;
        try {
            byte[] id = new byte[blob.getShort()];
            blob.get(id).get(nonce);
            keyId = new String(id, StandardCharsets.UTF_8);
            ct = new byte[blob.remaining()];
            blob.get(ct);
        } catch (RuntimeException malformed) {
            error(ex, 400, "InvalidCiphertextException", "malformed ciphertext");
            return;
        }
        String wanted = req.path("KeyId").asText(null);
        if (wanted != null && !wanted.equals(keyId)) {
            error(ex, 400, "IncorrectKeyException", "The key ID in the request does not identify the key that encrypted the ciphertext.");
            return;
        }
        byte[] key = keys.get(keyId);
        if (key == null) {
            error(ex, 400, "InvalidCiphertextException", "unknown key");
            return;
        }
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
            c.updateAAD(aad(keyId, req.path("EncryptionContext")));
            byte[] plain = c.doFinal(ct);
            ObjectNode out = JSON.createObjectNode();
            out.put("Plaintext", Base64.getEncoder().encodeToString(plain));
            out.put("KeyId", keyId);
            out.put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
            reply(ex, 200, out);
        } catch (GeneralSecurityException e) {
            error(ex, 400, "InvalidCiphertextException", null);
        }
    }

    /** The key id and the context in a canonical (sorted) form, as authenticated data. */
    private static byte[] aad(String keyId, JsonNode context) {
        Map<String, String> sorted = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : context.properties()) {
            sorted.put(e.getKey(), e.getValue().asText());
        }
        return (keyId + "\n" + sorted).getBytes(StandardCharsets.UTF_8);
    }

    private static void error(HttpExchange ex, int status, String type, String message) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        out.put("__type", type);
        if (message != null) {
            out.put("message", message);
        }
        reply(ex, status, out);
    }

    private static void reply(HttpExchange ex, int status, ObjectNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/x-amz-json-1.1");
        ex.getResponseHeaders().set("x-amzn-RequestId", java.util.UUID.randomUUID().toString());
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
