package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;

/**
 * The CRC-32C of a file from the CRC-32Cs of its pages, in order, without reading the file again:
 * a CRC is linear over GF(2), so {@code crc(a || b) = shift(crc(a)) ^ crc(b)}, where {@code shift}
 * is the effect of {@code b}'s length in zero bytes on a CRC (a 32×32 bit matrix; the CRC's
 * initial and final inversions cancel out). Every page has the same length, so the matrix is
 * built once. Values are those of {@link java.util.zip.CRC32C}.
 */
final class PageCrcs {
    /** CRC-32C's polynomial, bit-reversed as the reflected algorithm uses it. */
    private static final int POLYNOMIAL = 0x82F63B78;
    /** The effect of one page of zero bytes: column {@code i} is the image of bit {@code i}. */
    private static final int[] PAGE_SHIFT = pageShift();

    private PageCrcs() {
    }

    /** The CRC-32C of the bytes {@code crc} covers followed by one page whose CRC-32C is {@code pageCrc}. */
    static int append(int crc, int pageCrc) {
        return times(PAGE_SHIFT, crc) ^ pageCrc;
    }

    /** The CRC-32C of pages {@code 0..count-1} from their CRC-32Cs; 0 (that of no bytes) for none. */
    static int of(int[] pageCrcs, int count) {
        int crc = 0;
        for (int p = 0; p < count; p++) {
            crc = append(crc, pageCrcs[p]);
        }
        return crc;
    }

    private static int[] pageShift() {
        // one zero bit, then squared: 2, 4, ... bits, up to the page's 2^16 bits
        int[] m = new int[32];
        m[0] = POLYNOMIAL;
        for (int i = 1; i < 32; i++) {
            m[i] = 1 << (i - 1);
        }
        for (int bits = 1; bits < PAGE * 8; bits <<= 1) {
            m = square(m);
        }
        return m;
    }

    private static int[] square(int[] m) {
        int[] out = new int[32];
        for (int i = 0; i < 32; i++) {
            out[i] = times(m, m[i]);
        }
        return out;
    }

    private static int times(int[] m, int v) {
        int sum = 0;
        for (int i = 0; v != 0; i++, v >>>= 1) {
            if ((v & 1) != 0) {
                sum ^= m[i];
            }
        }
        return sum;
    }
}
