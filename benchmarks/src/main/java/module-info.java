/** Backstop benchmarks and the retention simulator; not a library API. */
module dev.backstop.benchmarks {
    requires dev.backstop.core;

    exports dev.backstop.benchmarks;
}
