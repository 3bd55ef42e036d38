package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Xxh64Test {

    private static long xxh64(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        return Xxh64.hash(b, 0, b.length);
    }

    @Test
    void hash_ofTheReferenceInputs_isXxh64() {
        assertThat(xxh64("")).isEqualTo(0xEF46DB3751D8E999L);
        assertThat(xxh64("a")).isEqualTo(0xD24EC4F1A98C6E5BL);
        assertThat(xxh64("abc")).isEqualTo(0x44BC2CF5AD770999L);
    }

    @Test
    void hash_overEveryTailShape_hasTheLow32BitsZstdWritesAsItsFrameChecksum() {
        // printf %s <input> | zstd --check | tail -c 4: the low 32 bits of XXH64, little-endian
        String base = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?";
        assertThat((int) xxh64(base.substring(0, 39))).isEqualTo(0x60AD5BC2);
        assertThat((int) xxh64(base)).isEqualTo(0x5F3ED6ED);
        assertThat((int) xxh64(base + base.substring(0, 46))).isEqualTo(0x7EC44488);
    }

    @Test
    void hash_ofARange_ignoresTheBytesAroundIt() {
        byte[] b = "xxabcxx".getBytes(StandardCharsets.US_ASCII);
        assertThat(Xxh64.hash(b, 2, 3)).isEqualTo(xxh64("abc"));
    }
}
