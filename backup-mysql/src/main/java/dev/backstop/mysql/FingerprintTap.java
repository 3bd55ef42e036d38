package dev.backstop.mysql;

import dev.backstop.core.TableFingerprint;
import dev.backstop.core.internal.stream.PipelinedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Hands copies of the dump's bytes to {@link DumpRows} on an executor thread, so that parsing and
 * hashing rows does not slow the thread that feeds the dump to the pipeline. The hand-off is a
 * {@link PipelinedOutputStream}: memory is bounded to {@code depth} chunks in flight and {@link
 * #write} waits for a free one, so a slow parser slows the dump rather than filling the heap.
 *
 * <p>A parse failure does not disturb the dump: {@link #write} stops copying and {@link #finish()}
 * reports why.
 *
 * <p><b>Threading.</b> One thread calls {@link #write}, then {@link #finish()} or {@link
 * #cancel()}; the parser runs on one executor task.
 */
final class FingerprintTap {
    private final Rows rows = new Rows();
    private final PipelinedOutputStream pipe;
    private Exception failure;

    FingerprintTap(Executor executor, int chunkSize, int depth) {
        this.pipe = new PipelinedOutputStream(rows, executor, chunkSize, depth);
    }

    /**
     * Copies {@code b[off..off+len)} for the parser (handing over only full chunks); waits while
     * every chunk is in flight. Once the parse failed, returns at once.
     */
    void write(byte[] b, int off, int len) {
        if (failure != null) {
            return;
        }
        try {
            pipe.write(b, off, len);
        } catch (IOException | RuntimeException e) {
            failure = e;
        }
    }

    /** Waits for the parser to read everything written; returns every table's fingerprint or throws why it could not. */
    Map<String, TableFingerprint> finish() throws IOException {
        if (failure == null) {
            try {
                pipe.close();
                return rows.result;
            } catch (IOException | RuntimeException e) {
                failure = e;
            }
        } else {
            pipe.cancel();
        }
        Throwable cause = failure.getCause() != null && failure instanceof IOException ? failure.getCause() : failure;
        throw new IOException("could not fingerprint the rows of the dump: " + cause.getMessage(), cause);
    }

    /** Stops the parser without a result; it ends once it takes the end marker. */
    void cancel() {
        pipe.cancel();
    }

    /** The parser as the pipe's downstream: closing it (on the parser's thread) takes the result. */
    private static final class Rows extends OutputStream {
        private final DumpRows rows = new DumpRows();
        private Map<String, TableFingerprint> result;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            rows.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            result = rows.finish();
        }
    }
}
