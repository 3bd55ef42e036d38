package dev.backstop.testkit.s3;

import dev.backstop.core.DataSize;
import dev.backstop.core.Sink;
import dev.backstop.testkit.contract.SinkContract;

/** The S3 sink passes the same contract as the filesystem sink, against an in-process S3 server. */
class S3SinkContractTest extends SinkContract {
    @Override
    protected Sink newSink() {
        return LocalS3.shared().sinkBuilder(LocalS3.shared().newBucket("sink-contract")).prefix("repo").partSize(DataSize.ofMiB(5)).build();
    }

    /** Two full parts and one byte, so the multipart path and its last short part are exercised. */
    @Override
    protected int largeObjectSize() {
        return 2 * 5 * 1024 * 1024 + 1;
    }
}
