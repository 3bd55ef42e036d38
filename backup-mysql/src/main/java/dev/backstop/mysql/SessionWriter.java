package dev.backstop.mysql;

import dev.backstop.core.internal.concurrent.LogContext;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** Feeds one load session from a bounded queue on a thread of its own. */
final class SessionWriter {
    private static final byte[] END = new byte[0];
    private final Process process;
    private final String name;
    private final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(16);
    private final AtomicLong queued = new AtomicLong();
    private long given;
    private final ByteArray pending = new ByteArray();
    private final ParallelLoad.Sessions sessions;
    private final Thread thread;
    private volatile IOException failure;

    SessionWriter(ParallelLoad.Sessions sessions, Process process, String name, ThreadFactory threads) {
        this.sessions = sessions;
        this.process = process;
        this.name = name;
        this.thread = threads.newThread(LogContext.propagate(this::drain));
        thread.start();
    }

    /** Bytes handed to this session and not yet written to it. */
    long queued() {
        return queued.get();
    }

    /** Bytes handed to this session so far, pending ones included; read on the loading thread only. */
    long given() {
        return given;
    }

    private void drain() {
        try (OutputStream out = process.getOutputStream()) {
            while (true) {
                byte[] b = queue.take();
                if (b == END) {
                    return;
                }
                out.write(b);
                queued.addAndGet(-b.length);
            }
        } catch (IOException e) {
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = new IOException(name + " interrupted", e);
        }
    }

    /**
     * Sends {@code line} after the lines before it, batched up to {@link ParallelLoad#CHUNK} bytes;
     * a line of that size or more (an extended INSERT) goes as it is, without a copy, so it must
     * not change after this call.
     */
    void append(byte[] line) throws IOException {
        if (line.length >= ParallelLoad.CHUNK) {
            flushPending();
            put(line);
            return;
        }
        given += line.length;
        pending.write(line);
        if (pending.size() >= ParallelLoad.CHUNK) {
            flushPending();
        }
    }

    void flushPending() throws IOException {
        if (pending.size() > 0) {
            enqueue(pending.toArray());
            pending.reset();
        }
    }

    void put(byte[] b) throws IOException {
        given += b.length;
        enqueue(b);
    }

    private void enqueue(byte[] b) throws IOException {
        queued.addAndGet(b.length);
        try {
            while (!queue.offer(b, 100, TimeUnit.MILLISECONDS)) {
                checkFailure();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while loading", e);
        }
        checkFailure();
    }

    void checkFailure() throws IOException {
        if (failure != null || !thread.isAlive() && !process.isAlive() && process.exitValue() != 0) {
            sessions.finish(process, name);
            throw new IOException(name + " stopped reading", failure);
        }
    }

    void finish() throws IOException {
        enqueue(END);
    }

    void await() throws IOException {
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while loading", e);
        }
        sessions.finish(process, name);
        if (failure != null) {
            throw new IOException(name + " stopped reading", failure);
        }
    }

    void kill() {
        thread.interrupt();
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
