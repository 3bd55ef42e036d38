package dev.backstop.cli;

import dev.backstop.core.CaptureException;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.internal.stream.HashingOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The capture half of {@code backstop backup --dry-run}: the source runs for real (pg_dump
 * connects, takes its snapshot and dumps everything) into streams that count and digest the
 * bytes and discard them, so a dry run proves the database side as {@link
 * dev.backstop.core.BackupPipeline#dryRun()} proves the repository side, and stores nothing.
 */
final class DryRun {
    private DryRun() {
    }

    /** One stream the source wrote: its name, size and SHA-256, as a backup's manifest would record them. */
    record Stream(String name, long bytes, String sha256) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("bytes", bytes);
            m.put("sha256", sha256);
            return m;
        }
    }

    /** What the capture reported, and every stream it wrote. */
    record Capture(CaptureResult result, List<Stream> streams) {
        long bytes() {
            return streams.stream().mapToLong(Stream::bytes).sum();
        }
    }

    /**
     * Runs {@code source} into discarding, digesting streams.
     *
     * @throws CaptureException as a backup's capture would fail (retryable as the source says)
     * @throws IOException as the capture fails otherwise; a source that returned without closing a stream
     *     fails with {@link IllegalStateException}, as the pipeline would refuse it
     */
    static Capture capture(CaptureSource source) throws IOException {
        List<String> names = new ArrayList<>();
        List<HashingOutputStream> outs = new ArrayList<>();
        CaptureResult result;
        try {
            result = source.capture(name -> {
                HashingOutputStream h = new HashingOutputStream(OutputStream.nullOutputStream());
                // a parallel source may open its streams from several threads
                synchronized (outs) {
                    names.add(name);
                    outs.add(h);
                }
                return h;
            });
        } catch (CaptureFailedException e) {
            // classified as a backup's capture failure is, so the exit code says whether to try again
            throw new CaptureException("dry run: " + e.getMessage(), e.exitCode(), e.stderrTail(), e, null, e.retryable());
        } catch (java.net.ConnectException e) {
            throw new CaptureException("dry run: " + source + " is unreachable: " + e.getMessage(), null, null, e, null, true);
        }
        List<Stream> streams = new ArrayList<>();
        synchronized (outs) {
            for (int i = 0; i < outs.size(); i++) {
                HashingOutputStream h = outs.get(i);
                try {
                    streams.add(new Stream(names.get(i), h.count(), h.digest().hex()));
                } catch (IllegalStateException e) {
                    throw new IllegalStateException(source + " returned without closing stream '" + names.get(i) + "'", e);
                }
            }
        }
        return new Capture(result, streams);
    }
}
