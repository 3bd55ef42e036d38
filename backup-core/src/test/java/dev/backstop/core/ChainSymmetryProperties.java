package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.internal.chain.DecodingChain;
import dev.backstop.core.internal.chain.EncodingChain;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/** Encoding then decoding through the chains gives back any bytes, and any stored byte flipped is caught. */
class ChainSymmetryProperties {
    static final int SEGMENT = 1 << 20;
    private static final TransformRegistry REGISTRY = TransformRegistry.builder()
            .register(XorTransform.ID, XorTransform.FACTORY).build();
    private static Path dir;

    enum Codecs { NONE, ZSTD, AEAD, USER, ZSTD_USER_AEAD, FRAMED_ZSTD_AEAD }

    @BeforeContainer
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("backstop-chain-props");
    }

    @AfterContainer
    static void tearDown() throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Provide
    Arbitrary<Integer> sizes() {
        // boundaries: empty, one byte, the 128 KiB top buffer, the 256 KiB hand-off chunk and the
        // 1 MiB AEAD segment and decode chunk, each +-1, plus anything up to 3 segments
        return Arbitraries.oneOf(
                Arbitraries.of(0, 1, 2, 131071, 131072, 131073, 262143, 262144, 262145,
                        SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT - 1, 2 * SEGMENT + 1),
                Arbitraries.integers().between(0, 3 * SEGMENT));
    }

    private static List<Transform> transforms(Codecs codecs, AeadTransform key) {
        List<Transform> t = new ArrayList<>();
        switch (codecs) {
            case ZSTD -> t.add(ZstdTransform.level(1));
            case AEAD -> t.add(key);
            case USER -> t.add(new XorTransform(0xa5));
            case ZSTD_USER_AEAD -> t.addAll(List.of(ZstdTransform.level(3), new XorTransform(0x11), key));
            case FRAMED_ZSTD_AEAD -> t.addAll(List.of(ZstdTransform.builder().level(1).frameSize(DataSize.ofKiB(64))
                    .build(), key));
            default -> {
            }
        }
        return t;
    }

    private record Stored(Sink sink, StoredObject object, Transform.Context context) {
    }

    private static Stored encode(byte[] data, Codecs codecs, boolean pipelining, long seed) throws IOException {
        Random r = new Random(seed);
        byte[] material = new byte[AeadTransform.KEY_BYTES];
        r.nextBytes(material);
        AeadTransform key = AeadTransform.withKey(material);
        Sink sink = Repository.filesystem(Files.createTempDirectory(dir, "repo")).sink();
        String objectKey = "log/segment-" + seed;
        ObjectBinding binding = new ObjectBinding("log/test", objectKey);
        EncodingChain chain = EncodingChain.builder().transforms(transforms(codecs, key)).pipelining(pipelining).build();
        EncodingChain.Result result;
        try (EncodingChain.Encoder enc = chain.open(sink.create(objectKey, ObjectKind.LOG), binding)) {
            // uneven writes, as a source makes them
            int off = 0;
            while (off < data.length) {
                int n = Math.min(data.length - off, 1 + r.nextInt(200_000));
                enc.stream().write(data, off, n);
                off += n;
            }
            result = enc.commit();
        }
        return new Stored(sink, result.toStoredObject("segment", objectKey), Transform.Context.of(binding, () -> key));
    }

    private static DecodingChain decoding(boolean pipelining) {
        DecodingChain.Builder b = DecodingChain.builder().registry(REGISTRY).pipelining(pipelining);
        // with pipelining, every size takes the two-thread path
        return (pipelining ? b.pipeliningFrom(DataSize.ofBytes(0)) : b).build();
    }

    @Property(tries = 40, seed = "20261207")
    void decode_ofEncode_returnsExactlyTheBytes_andTheRecordedDigests(@ForAll("sizes") int size, @ForAll Codecs codecs,
                                                                      @ForAll boolean pipelining, @ForAll long seed)
            throws IOException {
        byte[] data = new Random(seed).nextBoolean() ? TestSources.random(size, seed) : TestSources.textLike(size, seed);

        Stored s = encode(data, codecs, pipelining, seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        try (InputStream in = decoding(!pipelining).open(s.sink(), s.object(), s.context())) {
            in.transferTo(out);
        }

        assertThat(out.toByteArray()).isEqualTo(data);
        assertThat(s.object().plaintextSize()).isEqualTo(size);
        assertThat(s.object().plaintextSha256()).isEqualTo(Digest.sha256(data));
        byte[] stored;
        try (InputStream in = s.sink().open(s.object().key())) {
            stored = in.readAllBytes();
        }
        assertThat(s.object().storedSize()).isEqualTo(stored.length);
        assertThat(s.object().storedSha256()).isEqualTo(Digest.sha256(stored));
        if (codecs == Codecs.NONE) {
            assertThat(stored).isEqualTo(data);
        }
    }

    @Property(tries = 30, seed = "20261208")
    void decode_afterAnyStoredByteFlipped_failsWithIntegrityException(@ForAll Codecs codecs, @ForAll boolean pipelining,
                                                                      @ForAll long seed) throws IOException {
        byte[] data = TestSources.textLike(SEGMENT + 4097, seed);
        Stored s = encode(data, codecs, false, seed);
        Path file = ((dev.backstop.core.fs.FileSystemSink) s.sink()).pathOf(s.object().key());
        byte[] stored = Files.readAllBytes(file);
        int pos = new Random(seed).nextInt(stored.length);
        stored[pos] ^= 0x40;
        Files.write(file, stored);

        assertThatThrownBy(() -> {
            try (InputStream in = decoding(pipelining).open(s.sink(), s.object(), s.context())) {
                in.transferTo(OutputStream.nullOutputStream());
            }
        }).as("byte %d of %d flipped", pos, stored.length).isInstanceOf(IntegrityException.class)
                .hasMessageContaining(s.object().key());
    }
}
