package dev.backstop.core.internal.zstd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.DataSize;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Framed zstd returns what went in, whatever the sizes and thread counts. */
class FramedZstdProperties {

    @Property(tries = 60, seed = "20261121")
    void decodeOfEncode_returnsTheInput(@ForAll @IntRange(min = 0, max = 400_000) int size,
            @ForAll @IntRange(min = 4, max = 64) int frameKiB, @ForAll @IntRange(min = 0, max = 4) int workers,
            @ForAll @IntRange(min = 1, max = 4) int decodeThreads, @ForAll long seed) throws IOException {
        ZstdTransform t = ZstdTransform.builder().level(1).workers(workers).frameSize(DataSize.ofKiB(frameKiB))
                .decodeThreads(decodeThreads).build();
        byte[] data = FramedZstdTest.data(size, seed);
        byte[] enc = FramedZstdTest.encode(t, data);
        assertThat(FramedZstdTest.decode(t, enc)).isEqualTo(data);
        assertThat(FramedZstdTest.records(enc)).hasSize((size + frameKiB * 1024 - 1) / (frameKiB * 1024) + 1);
    }
}
