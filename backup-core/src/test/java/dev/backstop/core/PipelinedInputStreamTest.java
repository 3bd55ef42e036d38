package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.internal.stream.PipelinedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class PipelinedInputStreamTest {
    static final int CHUNK = 1000;

    /** Upstream that records whether it was closed, then fails with {@code failure} after {@code data}. */
    static class Source extends InputStream {
        final InputStream data;
        final RuntimeException unchecked;
        final IOException checked;
        final AtomicBoolean closed = new AtomicBoolean();

        Source(byte[] data, RuntimeException unchecked, IOException checked) {
            this.data = new ByteArrayInputStream(data);
            this.unchecked = unchecked;
            this.checked = checked;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = data.read(b, off, len);
            if (n < 0 && unchecked != null) {
                throw unchecked;
            }
            if (n < 0 && checked != null) {
                throw checked;
            }
            return n;
        }

        @Override
        public void close() {
            closed.set(true);
        }
    }

    static PipelinedInputStream pipe(InputStream upstream) {
        return new PipelinedInputStream(upstream, dev.backstop.core.internal.concurrent.DaemonThreads.threadPerTask(dev.backstop.core.internal.concurrent.DaemonThreads.numbered("test-stage")), CHUNK, 3);
    }

    @Test
    void deliversEveryByte_acrossChunkBoundaries_andClosesUpstreamAtTheEnd() throws IOException {
        for (int size : new int[] {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 10 * CHUNK + 7}) {
            byte[] data = TestSources.random(size, size);
            Source src = new Source(data, null, null);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (PipelinedInputStream in = pipe(src)) {
                in.transferTo(out);
                assertThat(in.read()).isEqualTo(-1);
                assertThat(src.closed).isTrue();
            }
            assertThat(out.toByteArray()).as("size %d", size).isEqualTo(data);
        }
    }

    @Test
    void transferTo_afterReadsInsideAChunk_writesExactlyTheRest_inWholeChunksAtMost() throws IOException {
        byte[] data = TestSources.random(7 * CHUNK + 11, 3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int[] largest = new int[1];
        java.io.OutputStream counting = new java.io.OutputStream() {
            @Override
            public void write(int b) {
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                largest[0] = Math.max(largest[0], len);
                out.write(b, off, len);
            }
        };
        try (PipelinedInputStream in = pipe(new Source(data, null, null))) {
            byte[] head = in.readNBytes(CHUNK + 17);

            assertThat(in.transferTo(counting)).isEqualTo(data.length - head.length);
            assertThat(in.read()).isEqualTo(-1);
            byte[] all = new byte[data.length];
            System.arraycopy(head, 0, all, 0, head.length);
            System.arraycopy(out.toByteArray(), 0, all, head.length, data.length - head.length);
            assertThat(all).isEqualTo(data);
        }
        assertThat(largest[0]).isLessThanOrEqualTo(CHUNK);
    }

    @Test
    void uncheckedFailure_reachesTheReader_asTheSameInstance_afterTheBytesBeforeIt() {
        IntegrityException bad = new IntegrityException("k", "stored SHA-256", "a", "b", null, null);
        byte[] data = TestSources.random(5 * CHUNK + 3, 1);
        PipelinedInputStream in = pipe(new Source(data, bad, null));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThatThrownBy(() -> in.transferTo(out)).isSameAs(bad);
        assertThat(out.toByteArray()).isEqualTo(data);
        assertThatThrownBy(in::read).as("and again, never the end").isSameAs(bad);
        in.close();
    }

    @Test
    void checkedFailure_keepsItsType() {
        IOException io = new java.io.EOFException("truncated");
        PipelinedInputStream in = pipe(new Source(new byte[10], null, io));
        assertThatThrownBy(() -> in.transferTo(new ByteArrayOutputStream())).isSameAs(io);
        in.close();
    }

    @Test
    void closeBeforeTheEnd_stopsTheWorker_andClosesUpstream() throws IOException {
        // endless upstream: the worker fills every chunk and then waits for the reader
        Source endless = new Source(new byte[0], null, null) {
            @Override
            public int read(byte[] b, int off, int len) {
                return len;
            }
        };
        PipelinedInputStream in = pipe(endless);
        in.readNBytes(10);
        in.close();
        assertThat(in.stopped()).isTrue();
        assertThat(endless.closed).isTrue();
        assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }

    @Test
    void closingTwice_isHarmless() {
        PipelinedInputStream in = pipe(new SequenceInputStream(new ByteArrayInputStream(new byte[5]), new ByteArrayInputStream(new byte[5])));
        in.close();
        in.close();
        assertThat(in.stopped()).isTrue();
    }
}
