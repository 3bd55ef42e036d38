package dev.backstop.core.internal.stream;

/**
 * A reusable buffer handed between the threads of a pipelined stream, with how much of it is
 * filled. Owned by one thread at a time: the queue that hands it over orders the accesses.
 */
public final class Chunk {
    /** The buffer. */
    public final byte[] data;
    /** How many bytes of {@link #data}, from index 0, are valid. */
    public int length;

    /** A chunk of which {@code length} bytes are filled. */
    public Chunk(byte[] data, int length) {
        this(data);
        this.length = length;
    }

    /** An empty chunk. */
    public Chunk(byte[] data) {
        this.data = data;
    }
}
