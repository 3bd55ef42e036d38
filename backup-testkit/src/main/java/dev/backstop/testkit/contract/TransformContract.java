package dev.backstop.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Transform;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The behaviour every {@link Transform} must have. Extend it and implement {@link #transform()}.
 * Sizes cover 0, 1, the usual buffer sizes ±1 and 1 MiB ±1 (AEAD segment boundaries).
 */
public abstract class TransformContract {

    protected abstract Transform transform() throws Exception;

    /** Whether decoding a truncated encoding must fail (true for AEAD and zstd). */
    protected boolean detectsTruncation() {
        return true;
    }

    protected static final ObjectBinding BINDING = new ObjectBinding("20261121T000000Z-raw-abc123", "backups/x/data");

    static IntStream sizes() {
        return IntStream.of(0, 1, 2, 8191, 8192, 8193, 65535, 65536, 65537, 131071, 131072, 131073,
                (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7);
    }

    protected byte[] encode(Transform t, byte[] data, ObjectBinding binding) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = t.encode(bytes, binding)) {
            // odd-sized writes, so implementations are exercised off their own buffer boundaries
            int off = 0;
            Random r = new Random(data.length);
            while (off < data.length) {
                int n = Math.min(data.length - off, 1 + r.nextInt(70_000));
                out.write(data, off, n);
                off += n;
            }
        }
        return bytes.toByteArray();
    }

    protected byte[] decode(Transform t, byte[] encoded, ObjectBinding binding) throws IOException {
        try (InputStream in = t.decode(new ByteArrayInputStream(encoded), binding)) {
            return in.readAllBytes();
        }
    }

    @ParameterizedTest(name = "{0} bytes")
    @MethodSource("sizes")
    void decodeOfEncode_returnsTheInput(int size) throws Exception {
        byte[] data = new byte[size];
        Random r = new Random(size);
        // half random, half repetitive, so compressors see both
        r.nextBytes(data);
        Arrays.fill(data, size / 2, size, (byte) 'x');
        Transform t = transform();
        assertThat(decode(t, encode(t, data, BINDING), BINDING)).isEqualTo(data);
    }

    @Test
    void truncatedEncoding_failsToDecode() throws Exception {
        if (!detectsTruncation()) {
            return;
        }
        byte[] data = new byte[300_000];
        new Random(7).nextBytes(data);
        Transform t = transform();
        byte[] enc = encode(t, data, BINDING);
        for (int cut : new int[] {1, 17, enc.length / 2}) {
            byte[] shorter = Arrays.copyOf(enc, enc.length - cut);
            assertThatThrownBy(() -> decode(t, shorter, BINDING)).as("cut %d bytes", cut).isInstanceOf(IOException.class);
        }
    }

    @Test
    void specIsStable() throws Exception {
        Transform t = transform();
        assertThat(t.spec()).isEqualTo(t.spec());
        assertThat(t.spec().id()).matches("[a-z0-9-]+");
    }
}
