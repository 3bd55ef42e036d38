package dev.backstop.testkit;

import dev.backstop.core.Repository;
import dev.backstop.testkit.contract.CatalogContract;

class S3CatalogContractTest extends CatalogContract {
    @Override
    protected Repository newRepository() {
        return Repository.on(LocalS3.shared().sinkBuilder("catalog-contract").prefix("repo").build());
    }
}
