package dev.backstop.core;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Random;

/** Capture sources for tests: fixed bytes, generated streams, and sources that fail midway. */
public final class TestSources {
    private TestSources() {
    }

    public static CaptureSource bytes(byte[] data) {
        return bytes("data", data);
    }

    public static CaptureSource bytes(String name, byte[] data) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open(name)) {
                    out.write(data);
                }
                return CaptureResult.builder(SourceInfo.of("test", "1")).build();
            }

            @Override
            public String toString() {
                return "bytes(" + data.length + ")";
            }
        };
    }

    /** Writes {@code failAfter} bytes, then throws; closes the stream first if {@code closeFirst}. */
    public static CaptureSource failingAfter(long failAfter, boolean closeFirst) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                OutputStream out = streams.open("data");
                byte[] chunk = new byte[8192];
                new Random(1).nextBytes(chunk);
                long left = failAfter;
                while (left > 0) {
                    int n = (int) Math.min(left, chunk.length);
                    out.write(chunk, 0, n);
                    left -= n;
                }
                if (closeFirst) {
                    out.close();
                }
                throw new IOException("source died after " + failAfter + " bytes");
            }
        };
    }

    /** Random bytes, a fixed seed per call. */
    public static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Text-like bytes that compress about 3x, like a SQL dump with varied data. */
    public static byte[] textLike(int size, long seed) {
        Random r = new Random(seed);
        byte[] b = new byte[size];
        String[] words = {"INSERT", "INTO", "orders", "VALUES", "customer", "shipped", "2026-11-21", "NULL", "true", "EUR"};
        int i = 0;
        while (i < size) {
            byte[] w = (r.nextInt(3) == 0 ? Long.toHexString(r.nextLong()) : words[r.nextInt(words.length)]).getBytes();
            for (int k = 0; k < w.length && i < size; k++) {
                b[i++] = w[k];
            }
            if (i < size) {
                b[i++] = (byte) (r.nextInt(12) == 0 ? '\n' : ' ');
            }
        }
        return b;
    }
}
