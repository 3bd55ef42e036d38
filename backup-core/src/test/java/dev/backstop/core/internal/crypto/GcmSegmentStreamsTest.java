package dev.backstop.core.internal.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingKey;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingParameters;
import com.google.crypto.tink.subtle.AesGcmHkdfStreaming;
import com.google.crypto.tink.util.SecretBytes;
import dev.backstop.core.internal.crypto.GcmSegmentDecryptingStream;
import dev.backstop.core.internal.crypto.GcmSegmentEncryptingStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * Our AES256_GCM_HKDF_1MB streams against Tink's own: each must read every stream the other
 * writes, our ciphertext must have exactly the length Tink's has, and every kind of damage must
 * fail to decrypt.
 */
class GcmSegmentStreamsTest {
    private static final int SEG = GcmSegmentEncryptingStream.CIPHERTEXT_SEGMENT;
    private static final int PT_SEG = SEG - GcmSegmentEncryptingStream.TAG;
    private static final int FIRST_PT = PT_SEG - GcmSegmentEncryptingStream.HEADER;
    private static final byte[] KEY = new byte[32];
    private static final byte[] AAD = "backups/20261121T143204Z-physical-u5vr0x/base.tar".getBytes(StandardCharsets.UTF_8);

    static {
        new Random(7).nextBytes(KEY);
    }

    @Provide
    Arbitrary<Integer> sizes() {
        // the segment boundaries that decide which segment is last, each -1/0/+1
        return Arbitraries.oneOf(
                Arbitraries.of(0, 1, 15, 16, 17, 1023, 1024, 1025, FIRST_PT - 1, FIRST_PT, FIRST_PT + 1,
                        FIRST_PT + PT_SEG - 1, FIRST_PT + PT_SEG, FIRST_PT + PT_SEG + 1, FIRST_PT + 2 * PT_SEG),
                Arbitraries.integers().between(0, 3 * SEG));
    }

    @Property(tries = 30, seed = "20261121")
    void whatWeEncrypt_tinkDecryptsToTheSameBytes_whateverTheWriteSizes(@ForAll("sizes") int size, @ForAll long seed)
            throws Exception {
        byte[] plain = new byte[size];
        Random r = new Random(seed);
        r.nextBytes(plain);
        byte[] sealed = encrypt(plain, r);

        assertThat(tinkDecrypt(sealed, AAD)).isEqualTo(plain);
        assertThat(sealed.length).isEqualTo(tinkEncrypt(plain).length);
    }

    @Property(tries = 30, seed = "20261122")
    void whatTinkEncrypts_weDecryptToTheSameBytes_whateverTheReadSizes(@ForAll("sizes") int size, @ForAll long seed)
            throws Exception {
        byte[] plain = new byte[size];
        Random r = new Random(seed);
        r.nextBytes(plain);

        assertThat(decrypt(tinkEncrypt(plain), AAD, r)).isEqualTo(plain);
        assertThat(decrypt(encrypt(plain, r), AAD, r)).isEqualTo(plain);
    }

    @Test
    void aFlippedBit_anywhere_failsToDecrypt_header_salt_prefix_data_andTag() throws Exception {
        byte[] plain = new byte[FIRST_PT + 1000];
        new Random(8).nextBytes(plain);
        byte[] sealed = encrypt(plain, new Random(9));
        int[] places = {0, 1, 39, 40, 41, SEG - 17, SEG - 1, SEG, SEG + 500, sealed.length - 17, sealed.length - 1};
        for (int at : places) {
            byte[] bad = sealed.clone();
            bad[at] ^= 0x04;
            assertThatThrownBy(() -> decrypt(bad, AAD, new Random(1))).as("flip at %d", at).isInstanceOf(IOException.class);
        }
    }

    @Test
    void truncated_appendedTo_orSegmentsSwapped_failsToDecrypt_withTheSegmentNamed() throws Exception {
        byte[] plain = new byte[FIRST_PT + 2 * PT_SEG + 10];
        new Random(10).nextBytes(plain);
        byte[] sealed = encrypt(plain, new Random(11));

        assertThatThrownBy(() -> decrypt(Arrays.copyOf(sealed, SEG), AAD, new Random(1)))
                .isInstanceOf(IOException.class).hasMessageContaining("segment 0").hasMessageContaining("last");
        assertThatThrownBy(() -> decrypt(Arrays.copyOf(sealed, sealed.length - 1), AAD, new Random(1)))
                .isInstanceOf(IOException.class).hasMessageContaining("segment 3");
        assertThatThrownBy(() -> decrypt(Arrays.copyOf(sealed, sealed.length + 1), AAD, new Random(1)))
                .isInstanceOf(IOException.class);
        byte[] swapped = sealed.clone();
        System.arraycopy(sealed, SEG, swapped, 2 * SEG, SEG);
        System.arraycopy(sealed, 2 * SEG, swapped, SEG, SEG);
        assertThatThrownBy(() -> decrypt(swapped, AAD, new Random(1)))
                .isInstanceOf(IOException.class).hasMessageContaining("segment 1");
        assertThatThrownBy(() -> decrypt(Arrays.copyOf(sealed, 40), AAD, new Random(1)))
                .isInstanceOf(IOException.class).hasMessageContaining("truncated");
        assertThatThrownBy(() -> decrypt(new byte[7], AAD, new Random(1)))
                .isInstanceOf(IOException.class).hasMessageContaining("too short");
    }

    @Test
    void afterAFailedSegment_everyLaterReadFails_soNoLaterSegmentIsHandedOut() throws Exception {
        byte[] plain = new byte[FIRST_PT + 2 * PT_SEG];
        new Random(13).nextBytes(plain);
        byte[] sealed = encrypt(plain, new Random(14));
        sealed[100] ^= 1; // in segment 0

        try (InputStream in = new GcmSegmentDecryptingStream(new ByteArrayInputStream(sealed), KEY, AAD)) {
            byte[] buf = new byte[PT_SEG];
            assertThatThrownBy(() -> in.read(buf)).isInstanceOf(IOException.class).hasMessageContaining("segment 0");
            assertThatThrownBy(() -> in.read(buf)).isInstanceOf(IOException.class).hasMessageContaining("segment 0");
            assertThatThrownBy(in::read).isInstanceOf(IOException.class);
        }
    }

    @Test
    void noPlaintextOfASegment_isHandedOut_beforeItsTagIsChecked() throws Exception {
        byte[] plain = new byte[3000];
        byte[] sealed = encrypt(plain, new Random(12));
        sealed[sealed.length - 1] ^= 1;

        try (InputStream in = new GcmSegmentDecryptingStream(new ByteArrayInputStream(sealed), KEY, AAD)) {
            assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("tag mismatch");
        }
    }

    @Test
    void header_hasTinksLayout_andAFreshSaltAndNoncePrefixPerStream() throws Exception {
        byte[] a = encrypt(new byte[10], new Random(1));
        byte[] b = encrypt(new byte[10], new Random(1));

        assertThat(a[0]).isEqualTo((byte) 40);
        assertThat(a).hasSize(40 + 10 + 16);
        assertThat(Arrays.copyOfRange(a, 1, 40)).isNotEqualTo(Arrays.copyOfRange(b, 1, 40));
    }

    @Test
    void aStreamEndingOnASegmentBoundary_marksThatSegmentLast_soDroppingNothingStillDecrypts_butCuttingItThereFails()
            throws Exception {
        byte[] plain = new byte[FIRST_PT + PT_SEG];
        new Random(3).nextBytes(plain);
        byte[] sealed = encrypt(plain, new Random(4));

        assertThat(sealed).hasSize(2 * SEG);
        assertThat(tinkDecrypt(sealed, AAD)).isEqualTo(plain);
        // a longer stream cut after its first segment: that segment was sealed as not last
        byte[] longer = encrypt(Arrays.copyOf(plain, plain.length + 1), new Random(5));
        assertThatThrownBy(() -> tinkDecrypt(Arrays.copyOf(longer, 2 * SEG), AAD)).isInstanceOf(IOException.class);
    }

    @Test
    void anotherAssociatedData_failsToDecrypt() throws Exception {
        byte[] sealed = encrypt(new byte[5000], new Random(6));

        assertThatThrownBy(() -> tinkDecrypt(sealed, "backups/other/base.tar".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class);
    }

    @Test
    void writeAfterClose_fails_andASecondCloseIsANoOp() throws Exception {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        OutputStream out = new GcmSegmentEncryptingStream(sink, KEY, AAD);
        out.write(1);
        out.close();
        int length = sink.size();
        out.close();

        assertThat(sink.size()).isEqualTo(length);
        assertThatThrownBy(() -> out.write(2)).isInstanceOf(IOException.class).hasMessageContaining("after close");
    }

    private static byte[] encrypt(byte[] plain, Random writes) throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try (OutputStream out = new GcmSegmentEncryptingStream(sink, KEY, AAD)) {
            int p = 0;
            while (p < plain.length) {
                int n = Math.min(plain.length - p, writes.nextInt(4) == 0 ? 1 : 1 + writes.nextInt(300_000));
                if (n == 1) {
                    out.write(plain[p]);
                } else {
                    out.write(plain, p, n);
                }
                p += n;
            }
        }
        return sink.toByteArray();
    }

    private static byte[] decrypt(byte[] sealed, byte[] aad, Random reads) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = new GcmSegmentDecryptingStream(new ByteArrayInputStream(sealed), KEY, aad)) {
            byte[] buf = new byte[400_000];
            while (true) {
                if (reads.nextInt(8) == 0) {
                    int b = in.read();
                    if (b < 0) {
                        break;
                    }
                    out.write(b);
                } else {
                    int n = in.read(buf, 0, 1 + reads.nextInt(buf.length));
                    if (n < 0) {
                        break;
                    }
                    out.write(buf, 0, n);
                }
            }
        }
        return out.toByteArray();
    }

    private static StreamingAead tink() throws Exception {
        AesGcmHkdfStreamingParameters params = AesGcmHkdfStreamingParameters.builder().setKeySizeBytes(32)
                .setDerivedAesGcmKeySizeBytes(32).setHkdfHashType(AesGcmHkdfStreamingParameters.HashType.SHA256)
                .setCiphertextSegmentSizeBytes(SEG).build();
        return AesGcmHkdfStreaming.create(AesGcmHkdfStreamingKey.create(params,
                SecretBytes.copyFrom(KEY, InsecureSecretKeyAccess.get())));
    }

    private static byte[] tinkDecrypt(byte[] sealed, byte[] aad) throws Exception {
        try (InputStream in = tink().newDecryptingStream(new ByteArrayInputStream(sealed), aad)) {
            return in.readAllBytes();
        }
    }

    private static byte[] tinkEncrypt(byte[] plain) throws Exception {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try (OutputStream out = tink().newEncryptingStream(sink, AAD)) {
            out.write(plain);
        }
        return sink.toByteArray();
    }
}
