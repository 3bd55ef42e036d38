package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReadAheadTest {

    @Test
    void read_deliversEveryByteInOrder_acrossChunkBoundaries() throws IOException {
        for (int size : new int[] {0, 1, 1023, 1024, 1025, 50_000}) {
            byte[] data = new byte[size];
            new Random(size).nextBytes(data);
            try (InputStream in = ReadAhead.of(new ByteArrayInputStream(data), 1024, 3, "test")) {
                assertThat(in.readAllBytes()).as("size %d", size).isEqualTo(data);
                assertThat(in.read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void read_inSmallPieces_fromAShortReadingSource_deliversEveryByte_whileChunksAreRecycled() throws IOException {
        byte[] data = new byte[100_000];
        new Random(7).nextBytes(data);
        ByteArrayInputStream source = new ByteArrayInputStream(data);
        InputStream shortReads = new InputStream() {
            @Override
            public int read() {
                return source.read();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                return source.read(b, off, Math.min(len, 333));
            }
        };
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        try (InputStream in = ReadAhead.of(shortReads, 1024, 2, "test")) {
            byte[] piece = new byte[7];
            int n;
            while ((n = in.read(piece, 0, piece.length)) >= 0) {
                got.write(piece, 0, n);
            }
        }
        assertThat(got.toByteArray()).isEqualTo(data);
    }

    @Test
    void ofPipe_deliversAProcessOutputWhole_writtenFourKibAtATime() throws Exception {
        // dd writes 4 KiB blocks, as pg_dump does: the reader pauses after short reads and still gets every byte
        java.nio.file.Path file = java.nio.file.Files.createTempFile("readahead", ".bin");
        try {
            byte[] data = new byte[3_000_000 + 123];
            new Random(11).nextBytes(data);
            java.nio.file.Files.write(file, data);
            Process p = new ProcessBuilder("dd", "if=" + file, "bs=4096", "status=none").start();
            try (InputStream in = ReadAhead.ofPipe(p.getInputStream(), 256 * 1024, 4, "test")) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
            assertThat(p.waitFor()).isZero();
        } finally {
            java.nio.file.Files.delete(file);
        }
    }

    @Test
    void ofPipe_fromATricklingProcess_deliversEachPieceInOrder() throws Exception {
        Process p = new ProcessBuilder("sh", "-c", "printf first; sleep 0.3; printf second").start();
        try (InputStream in = ReadAhead.ofPipe(p.getInputStream(), 5, 4, "test")) {
            byte[] five = new byte[5];
            assertThat(in.readNBytes(five, 0, 5)).isEqualTo(5);
            assertThat(new String(five, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("first");
            assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("second");
        }
        assertThat(p.waitFor()).isZero();
    }

    @Test
    void read_afterTheSourceFailed_throwsItsFailure_notEndOfStream() {
        InputStream failing = new InputStream() {
            int n;

            @Override
            public int read() throws IOException {
                if (n++ < 10) {
                    return 7;
                }
                throw new IOException("pipe broke");
            }
        };
        InputStream in = ReadAhead.of(failing, 4, 2, "test");

        assertThatThrownBy(in::readAllBytes).isInstanceOf(IOException.class).hasMessage("pipe broke");
    }

    @Test
    void read_afterAnUncheckedFailureOfTheSource_throwsIt_insteadOfWaitingForever() {
        InputStream corrupt = new InputStream() {
            @Override
            public int read() {
                throw new IllegalStateException("digest mismatch");
            }
        };
        InputStream in = ReadAhead.of(corrupt, 4, 2, "test");

        assertThatThrownBy(in::readAllBytes).isInstanceOf(IllegalStateException.class).hasMessage("digest mismatch");
    }
}
