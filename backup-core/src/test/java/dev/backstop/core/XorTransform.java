package dev.backstop.core;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;

/**
 * A user's codec as a user would write one: XOR with a byte recorded in the spec. Neither
 * compression nor encryption; it only proves that a codec outside Backstop goes through the same
 * seams as the built-ins.
 */
final class XorTransform implements Transform {
    static final String ID = "xor";
    /** What a restore registers: the mask comes back from the recorded spec. */
    static final Transform.Factory FACTORY = (spec, context) -> new XorTransform(Integer.decode(spec.require("mask")));

    private final int mask;

    XorTransform(int mask) {
        this.mask = mask & 0xff;
    }

    @Override
    public TransformSpec spec() {
        return new TransformSpec(ID, Map.of("mask", Integer.toString(mask)));
    }

    @Override
    public OutputStream encode(OutputStream out, ObjectBinding binding) {
        return new FilterOutputStream(out) {
            @Override
            public void write(int b) throws IOException {
                out.write(b ^ mask);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                byte[] x = new byte[len];
                for (int i = 0; i < len; i++) {
                    x[i] = (byte) (b[off + i] ^ mask);
                }
                out.write(x, 0, len);
            }
        };
    }

    @Override
    public InputStream decode(InputStream in, ObjectBinding binding) {
        return new FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                int b = in.read();
                return b < 0 ? b : (b ^ mask) & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                for (int i = 0; i < n; i++) {
                    b[off + i] ^= (byte) mask;
                }
                return n;
            }
        };
    }

    @Override
    public String toString() {
        return "xor(" + mask + ")";
    }
}
