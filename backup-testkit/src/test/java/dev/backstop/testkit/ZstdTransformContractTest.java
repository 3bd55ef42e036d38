package dev.backstop.testkit;

import dev.backstop.core.Transform;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.testkit.contract.TransformContract;

class ZstdTransformContractTest extends TransformContract {
    @Override
    protected Transform transform() {
        return ZstdTransform.builder().level(3).workers(2).windowLog(24).build();
    }
}
