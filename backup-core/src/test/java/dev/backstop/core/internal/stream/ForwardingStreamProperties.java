package dev.backstop.core.internal.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever mix of single-byte and array calls a caller makes, a decorator built on the forwarding
 * bases sees, and passes on, exactly the bytes a bulk copy would.
 */
class ForwardingStreamProperties {

    /** One call: a single byte when {@code size} is 0, an array of {@code size} at {@code offset} otherwise. */
    record Step(int size, int offset) {
    }

    /** Counts and sums what passes, like a hashing or counting decorator. */
    static final class Tally extends ForwardingInputStream {
        long count;
        long sum;

        Tally(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            for (int i = 0; i < n; i++) {
                count++;
                sum += b[off + i] & 0xff;
            }
            return n;
        }
    }

    static final class TallyOut extends ForwardingOutputStream {
        long count;
        long sum;

        TallyOut(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            for (int i = 0; i < len; i++) {
                count++;
                sum += b[off + i] & 0xff;
            }
            out.write(b, off, len);
        }
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        return Arbitraries.integers().between(0, 3).flatMap(kind -> kind == 0
                ? Arbitraries.just(new Step(0, 0))
                : Arbitraries.integers().between(1, 700).flatMap(size ->
                        Arbitraries.integers().between(0, 5).map(offset -> new Step(size, offset))))
                .list().ofMaxSize(60);
    }

    @Provide
    Arbitrary<byte[]> data() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(5000);
    }

    @Property(tries = 300, seed = "7")
    void reads_inAnyMixOfSizes_yieldTheBytesOfABulkRead(@ForAll("data") byte[] data, @ForAll("steps") List<Step> steps)
            throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try (Tally in = new Tally(new ByteArrayInputStream(data))) {
            boolean ended = false;
            for (Step s : steps) {
                if (s.size() == 0) {
                    int b = in.read();
                    if (b < 0) {
                        ended = true;
                        break;
                    }
                    got.write(b);
                } else {
                    byte[] buf = new byte[s.offset() + s.size()];
                    int n = in.read(buf, s.offset(), s.size());
                    if (n < 0) {
                        ended = true;
                        break;
                    }
                    got.write(buf, s.offset(), n);
                }
            }
            if (!ended) {
                got.write(in.readAllBytes());
            }
            assertThat(in.read()).isEqualTo(-1);
            assertThat(got.toByteArray()).isEqualTo(data);
            assertThat(in.count).isEqualTo(data.length);
            assertThat(in.sum).isEqualTo(sum(data));
        }
    }

    @Property(tries = 300, seed = "11")
    void writes_inAnyMixOfSizes_yieldTheBytesOfABulkWrite(@ForAll("data") byte[] data, @ForAll("steps") List<Step> steps)
            throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        TallyOut out = new TallyOut(sink);
        int pos = 0;
        for (Step s : steps) {
            if (pos == data.length) {
                break;
            }
            if (s.size() == 0) {
                out.write(data[pos++]);
            } else {
                int n = Math.min(s.size(), data.length - pos);
                byte[] buf = new byte[s.offset() + n];
                System.arraycopy(data, pos, buf, s.offset(), n);
                out.write(buf, s.offset(), n);
                pos += n;
            }
        }
        out.write(java.util.Arrays.copyOfRange(data, pos, data.length));
        out.close();
        assertThat(sink.toByteArray()).isEqualTo(data);
        assertThat(out.count).isEqualTo(data.length);
        assertThat(out.sum).isEqualTo(sum(data));
    }

    @Property(tries = 100, seed = "13")
    void skip_goesThroughTheDecorator_likeARead(@ForAll("data") byte[] data, @ForAll("steps") List<Step> steps)
            throws IOException {
        try (Tally in = new Tally(new ByteArrayInputStream(data))) {
            long skipped = 0;
            for (Step s : steps) {
                skipped += in.skip(s.size());
            }
            byte[] rest = in.readAllBytes();
            assertThat(skipped + rest.length).isEqualTo(data.length);
            assertThat(in.count).isEqualTo(data.length);
            assertThat(in.sum).isEqualTo(sum(data));
        }
    }

    @Example
    void close_whenFlushFails_stillClosesDownstream_andRethrowsTheFlushFailure_withTheCloseFailureSuppressed() {
        boolean[] closed = new boolean[1];
        OutputStream downstream = new OutputStream() {
            @Override
            public void write(int b) {
            }

            @Override
            public void flush() throws IOException {
                throw new IOException("flush failed");
            }

            @Override
            public void close() throws IOException {
                closed[0] = true;
                throw new IOException("close failed");
            }
        };
        TallyOut out = new TallyOut(downstream);

        assertThatThrownBy(out::close).isInstanceOf(IOException.class).hasMessage("flush failed")
                .satisfies(e -> assertThat(e.getSuppressed()).extracting(Throwable::getMessage).containsExactly("close failed"));
        assertThat(closed[0]).isTrue();
    }

    private static long sum(byte[] data) {
        long s = 0;
        for (byte b : data) {
            s += b & 0xff;
        }
        return s;
    }
}
