package dev.backstop.postgres;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How an {@link EphemeralPostgres} serves TLS: its certificate and key, and optionally the CA
 * that client certificates must chain to (null for none).
 */
record ServerTls(Path certificate, Path key, Path clientCa) {

    /**
     * Copies the files into the server's directory {@code dir} for the server's OS user alone
     * (the server refuses a key that others can read), rewrites {@code pg_hba.conf} to allow TCP
     * over TLS only, and returns the server settings that turn TLS on. With a client CA, every
     * role but {@code superuser} must also present a certificate that names it, so the instance
     * itself can still connect with its password to check that it is up.
     */
    Map<String, String> install(Path dir, String superuser) throws IOException {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("ssl", "on");
        settings.put("ssl_cert_file", privateCopy(certificate, dir.resolve("server.crt")).toString());
        settings.put("ssl_key_file", privateCopy(key, dir.resolve("server.key")).toString());
        StringBuilder hba = new StringBuilder("# EphemeralPostgres: TCP over TLS only\n")
                .append("local all all scram-sha-256\n")
                .append("local replication all scram-sha-256\n");
        if (clientCa != null) {
            settings.put("ssl_ca_file", privateCopy(clientCa, dir.resolve("client-ca.crt")).toString());
            hba.append("hostssl all ").append(superuser).append(" 127.0.0.1/32 scram-sha-256\n")
                    .append("hostssl replication ").append(superuser).append(" 127.0.0.1/32 scram-sha-256\n")
                    .append("hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-full\n")
                    .append("hostssl replication all 127.0.0.1/32 scram-sha-256 clientcert=verify-full\n");
        } else {
            hba.append("hostssl all all 127.0.0.1/32 scram-sha-256\n")
                    .append("hostssl replication all 127.0.0.1/32 scram-sha-256\n");
        }
        Files.writeString(dir.resolve("data").resolve("pg_hba.conf"), hba, StandardCharsets.UTF_8);
        return settings;
    }

    private static Path privateCopy(Path from, Path to) throws IOException {
        Files.deleteIfExists(to);
        Files.createFile(to, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(to, Files.readAllBytes(from));
        // the directory belongs to the server's OS user, who must own the key
        Files.setOwner(to, Files.getOwner(to.getParent()));
        return to;
    }
}
