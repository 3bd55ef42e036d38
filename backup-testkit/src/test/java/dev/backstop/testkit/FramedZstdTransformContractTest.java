package dev.backstop.testkit;

import dev.backstop.core.DataSize;
import dev.backstop.core.Transform;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.testkit.contract.TransformContract;

/** Framed zstd with small frames, so the contract's sizes span many frames and their boundaries. */
class FramedZstdTransformContractTest extends TransformContract {
    @Override
    protected Transform transform() {
        return ZstdTransform.builder().level(3).workers(3).frameSize(DataSize.ofKiB(64)).decodeThreads(2).build();
    }
}
