package dev.backstop.testkit.s3;

import dev.backstop.core.Repository;
import dev.backstop.testkit.contract.CatalogContract;

class S3CatalogContractTest extends CatalogContract {
    @Override
    protected Repository newRepository() {
        return Repository.on(LocalS3.shared().sinkBuilder(LocalS3.shared().newBucket("catalog-contract")).prefix("repo").build());
    }
}
