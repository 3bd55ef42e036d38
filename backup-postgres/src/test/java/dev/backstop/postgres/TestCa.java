package dev.backstop.postgres;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A certificate authority made with the {@code openssl} command for one test run: a self-signed
 * root, and server and client certificates it signs. Keys are PKCS#8 PEM, mode 0600, as both
 * libpq and PgJDBC read them.
 */
final class TestCa {
    private final Path dir;
    private final String name;

    private TestCa(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    /** A new root named {@code name}, its files in {@code dir}; fails, naming what to install, without openssl. */
    static TestCa create(Path dir, String name) throws IOException {
        TestCa ca = new TestCa(dir, name);
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", ca.key().toString(), "-out", ca.certificate().toString(), "-days", "2", "-subj", "/CN=" + name,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        restrict(ca.key());
        return ca;
    }

    /** The root certificate (PEM). */
    Path certificate() {
        return dir.resolve(name + ".crt");
    }

    private Path key() {
        return dir.resolve(name + ".key");
    }

    /**
     * A server certificate for common name {@code cn} with {@code subjectAltNames} (e.g.
     * {@code DNS:localhost}), signed by this root: {@code [certificate, key]}.
     */
    Path[] server(String file, String cn, String subjectAltNames) throws IOException {
        return issue(file, cn, "subjectAltName=" + subjectAltNames + "\nextendedKeyUsage=serverAuth\n", "ec");
    }

    /** A client certificate for role {@code role} with an {@code "rsa"} or {@code "ec"} key: {@code [certificate, key]}. */
    Path[] client(String file, String role, String algorithm) throws IOException {
        return issue(file, role, "extendedKeyUsage=clientAuth\n", algorithm);
    }

    /** {@code key} rewritten in the older PKCS#1/SEC1 PEM form ({@code BEGIN RSA PRIVATE KEY}) that libpq reads and PgJDBC does not. */
    static Path traditional(Path key, Path out) throws IOException {
        openssl(out.getParent(), "pkey", "-in", key.toString(), "-traditional", "-out", out.toString());
        restrict(out);
        return out;
    }

    private Path[] issue(String file, String cn, String extensions, String algorithm) throws IOException {
        Path crt = dir.resolve(file + ".crt");
        Path key = dir.resolve(file + ".key");
        Path csr = dir.resolve(file + ".csr");
        Path ext = Files.writeString(dir.resolve(file + ".ext"),
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" + extensions,
                StandardCharsets.US_ASCII);
        List<String> newKey = algorithm.equals("rsa") ? List.of("-newkey", "rsa:2048")
                : List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1");
        List<String> req = new ArrayList<>(List.of("req", "-new"));
        req.addAll(newKey);
        req.addAll(List.of("-nodes", "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + cn));
        openssl(dir, req.toArray(String[]::new));
        openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", certificate().toString(), "-CAkey", key().toString(),
                "-CAcreateserial", "-out", crt.toString(), "-days", "2", "-extfile", ext.toString());
        restrict(key);
        return new Path[] {crt, key};
    }

    private static void restrict(Path key) throws IOException {
        // libpq refuses a client key that its group or others can read
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    }

    private static void openssl(Path dir, String... args) throws IOException {
        Path openssl = null;
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, "openssl"))) {
                openssl = Path.of(d, "openssl");
                break;
            }
        }
        if (openssl == null) {
            throw new AssertionError("the TLS tests make their certificates with the openssl command, which is not on PATH ("
                    + System.getenv("PATH") + "); install it (e.g. apt-get install openssl)");
        }
        List<String> cmd = new ArrayList<>(List.of(openssl.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
