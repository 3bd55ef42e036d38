package dev.backstop.core;

/** A reusable buffer handed between the threads of a pipelined stream, with how much of it is filled. */
final class Chunk {
    final byte[] data;
    int length;

    Chunk(byte[] data) {
        this.data = data;
    }
}
