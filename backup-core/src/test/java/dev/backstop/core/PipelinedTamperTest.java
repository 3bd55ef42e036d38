package dev.backstop.core;

/**
 * Every attack of {@link TamperTest} again, with the decode split across two threads from the
 * first byte: a failure on the decode thread must reach the reader as the same exception, never
 * as end-of-stream. The payload half random so the stored object spans several hand-off chunks.
 */
class PipelinedTamperTest extends TamperTest {
    PipelinedTamperTest() {
        byte[] text = TestSources.textLike(1_500_000, 11);
        byte[] noise = TestSources.random(2_000_000, 11);
        data = new byte[text.length + noise.length];
        System.arraycopy(text, 0, data, 0, text.length);
        System.arraycopy(noise, 0, data, text.length, noise.length);
    }

    @Override
    Restore restore() {
        return Restore.builder().repository(repo).keys(kek).allowUnencrypted().pipelining(true).pipeliningFrom(DataSize.ofBytes(0)).build();
    }
}
