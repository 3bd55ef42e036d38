package dev.backstop.core.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Repository objects written with direct I/O hold exactly the bytes given, whatever their length and however they were cut. */
class DirectUploadStreamTest {
    private static final int B = DirectUploadStream.BUFFER_BYTES;

    @TempDir
    Path dir;

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void objectsOfEveryLengthAroundTheBlockAndBufferBoundaries_readBackExactly() throws Exception {
        FileSystemSink sink = FileSystemSink.open(dir);
        for (int size : new int[] {0, 1, 4095, 4096, 4097, B - 1, B, B + 1, B + 4096, 3 * B + 12345}) {
            byte[] data = random(size, size);
            try (Sink.Upload u = sink.create("objects/o" + size, ObjectKind.DATA)) {
                u.stream().write(data);
                u.stream().close();
                u.commit();
            }
            assertThat(Files.readAllBytes(sink.pathOf("objects/o" + size))).as("object of %d bytes", size).isEqualTo(data);
        }
        try (Stream<Path> files = Files.list(dir.resolve("objects"))) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no temporary file left").noneMatch(n -> n.startsWith("."));
        }
    }

    @Property(tries = 25)
    void anyCutOfTheWrites_givesTheSameFile(@ForAll @IntRange(min = 0, max = 3 * B) int size,
                                             @ForAll @IntRange(min = 1, max = 2 * B) int writeSize) throws IOException {
        Path d = Files.createTempDirectory("direct-upload");
        try {
            byte[] data = random(size, 7L * size + writeSize);
            Path file = d.resolve("f");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                DirectUploadStream s = new DirectUploadStream(ch, file, 4096, new DirectUploadStream.Buffers());
                for (int off = 0; off < size; off += writeSize) {
                    s.write(data, off, Math.min(writeSize, size - off));
                }
                s.finish();
                s.release();
            }
            assertThat(Files.readAllBytes(file)).isEqualTo(data);
        } finally {
            try (Stream<Path> files = Files.list(d)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(d);
        }
    }

    @Test
    void objectsLargerThanOneBuffer_goToTheDiskWithDirectIo_smallerOnesThroughTheCache() throws Exception {
        String type = Files.getFileStore(dir).type();
        for (int size : new int[] {B - 1, B + 1}) {
            Path file = dir.resolve("f" + size);
            DirectUploadStream s;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                s = new DirectUploadStream(ch, file, (int) Files.getFileStore(dir).getBlockSize(), new DirectUploadStream.Buffers());
                s.write(new byte[size]);
                s.finish();
                s.release();
            }
            if (size < B) {
                assertThat(s.direct()).as("%d bytes", size).isFalse();
            } else if (type.equals("ext4") || type.equals("xfs") || type.equals("btrfs")) {
                assertThat(s.direct()).as("%d bytes on %s", size, type).isTrue();
            }
            assertThat(Files.size(file)).isEqualTo(size);
        }
    }

    @Test
    void noBlockSize_meansOrdinaryWrites() throws Exception {
        Path file = dir.resolve("f");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            DirectUploadStream s = new DirectUploadStream(ch, file, 0, new DirectUploadStream.Buffers());
            s.write(random(3 * B + 1, 1));
            s.finish();
            s.release();
            assertThat(s.direct()).isFalse();
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(random(3 * B + 1, 1));
        assertThat(DirectUploadStream.usableBlock(3000)).as("not a divisor of the alignment").isZero();
        assertThat(DirectUploadStream.usableBlock(1 << 20)).as("larger than the alignment").isZero();
        assertThat(DirectUploadStream.usableBlock(4096)).isEqualTo(4096);
    }

    @Test
    void writesAfterTheEnd_areRefused() throws Exception {
        Path file = dir.resolve("f");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            DirectUploadStream s = new DirectUploadStream(ch, file, 4096, new DirectUploadStream.Buffers());
            s.write(new byte[10]);
            s.close();
            assertThatThrownBy(() -> s.write(1)).isInstanceOf(IOException.class).hasMessageContaining("finished");
            s.release();
        }
        assertThat(Files.size(file)).isEqualTo(10);
    }

    @Test
    void aFailedWrite_failsEveryLaterWriteAndTheFinish_soATornFileIsNeverFinished() throws Exception {
        Path file = dir.resolve("f");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        DirectUploadStream s = new DirectUploadStream(ch, file, 0, new DirectUploadStream.Buffers());
        ch.close(); // the disk going away, as far as the stream can tell

        assertThatThrownBy(() -> s.write(new byte[B])).isInstanceOf(java.nio.channels.ClosedChannelException.class);
        assertThatThrownBy(() -> s.write(new byte[1])).isInstanceOf(IOException.class).hasMessageContaining("earlier write");
        assertThatThrownBy(s::finish).isInstanceOf(IOException.class).hasMessageContaining("earlier write");
        assertThatThrownBy(s::close).isInstanceOf(IOException.class).hasMessageContaining("earlier write");
        s.release();
    }

    @Test
    void anUploadClosedWithoutCommit_leavesNoFile_evenAfterDirectWrites() throws Exception {
        FileSystemSink sink = FileSystemSink.open(dir);
        try (Sink.Upload u = sink.create("big", ObjectKind.DATA)) {
            OutputStream out = u.stream();
            out.write(random(2 * B + 5, 3));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
        assertThat(sink.list("")).isEmpty();
        assertThatThrownBy(() -> {
            try (InputStream in = sink.open("big")) {
                in.read();
            }
        }).isInstanceOf(java.nio.file.NoSuchFileException.class);
    }
}
