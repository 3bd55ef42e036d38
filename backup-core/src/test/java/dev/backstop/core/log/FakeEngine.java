package dev.backstop.core.log;

import dev.backstop.core.Digest;
import java.io.ByteArrayInputStream;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * A log engine that is no database: files {@code file-000001}, {@code file-000002}, … each holding
 * positions {@code [n * 500, n * 500 + 500)} of epoch {@code 1}, and side files {@code
 * <anything>.note}.
 */
final class FakeEngine {
    static final String STREAM = "fake/41";
    static final long SPAN = 500;
    static final LogNaming NAMING = name -> {
        if (name.endsWith(".note")) {
            return LogFile.side("1", name);
        }
        if (!name.matches("file-\\d{6}")) {
            throw new IllegalArgumentException("fake log file: got '" + name + "', expected file-<6 digits> or <name>.note");
        }
        long n = Long.parseLong(name.substring(5));
        return LogFile.positioned("1", name, n * SPAN, n * SPAN + SPAN);
    };

    private FakeEngine() {
    }

    static LogFile file(int n) {
        return NAMING.parse(String.format(Locale.ROOT, "file-%06d", n));
    }

    /** Compressible bytes of file {@code n}, {@code size} long. */
    static byte[] bytes(int n, int size) {
        byte[] b = new byte[size];
        Random r = new Random(n);
        for (int i = 0; i < size; i++) {
            b[i] = (byte) ('a' + r.nextInt(6));
        }
        return b;
    }

    static LogStore.PutResult put(LogStore logs, LogFile f, byte[] b) {
        return logs.put(f, () -> new ByteArrayInputStream(b), b.length, Digest.sha256(b), Map.of("origin", "test"));
    }

    static long putDelta(LogStore logs, LogFile f, byte[] whole, int from, int to) {
        byte[] part = java.util.Arrays.copyOfRange(whole, from, to);
        return logs.putDelta(f, from, to, () -> new ByteArrayInputStream(part), Digest.sha256(part), Map.of());
    }
}
