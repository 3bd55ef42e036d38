package dev.backstop.s3;

import dev.backstop.core.StorageException;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.retention.TierSchedule;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import dev.backstop.s3.internal.S3Errors;
import software.amazon.awssdk.services.s3.model.BucketLifecycleConfiguration;
import software.amazon.awssdk.services.s3.model.ExpirationStatus;
import software.amazon.awssdk.services.s3.model.LifecycleRule;
import software.amazon.awssdk.services.s3.model.LifecycleRuleFilter;
import software.amazon.awssdk.services.s3.model.Transition;
import software.amazon.awssdk.services.s3.model.TransitionStorageClass;

/**
 * S3 lifecycle rules generated from a {@link TierSchedule}: backup data moves to colder storage
 * classes as it ages, and multipart uploads abandoned by crashed writers are removed.
 *
 * <p><b>Guarantees.</b> Only objects under the repository's {@code backups/} prefix and larger
 * than 128 KiB transition, so manifests, validation records and keys (small, and read on every
 * listing) stay in STANDARD. No expiration rule is generated: deleting is retention's job, which
 * knows which logs a kept backup still needs. {@link #apply} keeps the bucket's other rules and
 * replaces only Backstop's own (ids starting {@code backstop-<prefix>}).
 */
public final class S3Lifecycle {
    /** Objects at most this size never transition (S3 bills IA/Glacier IR as 128 KiB minimum anyway). */
    static final long MIN_TRANSITION_SIZE = 128 * 1024;
    /** Days after which S3 removes parts of multipart uploads that were never completed or aborted. */
    static final int ABORT_INCOMPLETE_DAYS = 7;

    private S3Lifecycle() {
    }

    /** The rules for the repository of {@code sink} under {@code schedule}. */
    public static List<LifecycleRule> rules(S3Sink sink, TierSchedule schedule) {
        String id = "backstop-" + (sink.prefix().isEmpty() ? "root" : sink.prefix().replace('/', '_'));
        List<Transition> transitions = new ArrayList<>();
        for (TierSchedule.Step s : schedule.steps()) {
            transitions.add(Transition.builder()
                    .days(Math.toIntExact(s.age().toDays()))
                    .storageClass(TransitionStorageClass.fromValue(S3Sink.storageClassFor(s.tier()).toString()))
                    .build());
        }
        List<LifecycleRule> rules = new ArrayList<>();
        if (!transitions.isEmpty()) {
            rules.add(LifecycleRule.builder().id(id + "-tiers").status(ExpirationStatus.ENABLED)
                    .filter(LifecycleRuleFilter.builder().and(a -> a.prefix(sink.prefix() + RepositoryLayout.TIERED)
                            .objectSizeGreaterThan(MIN_TRANSITION_SIZE)).build())
                    .transitions(transitions)
                    .build());
        }
        rules.add(LifecycleRule.builder().id(id + "-abort-incomplete").status(ExpirationStatus.ENABLED)
                .filter(LifecycleRuleFilter.builder().prefix(sink.prefix()).build())
                .abortIncompleteMultipartUpload(a -> a.daysAfterInitiation(ABORT_INCOMPLETE_DAYS))
                .build());
        return rules;
    }

    /**
     * Writes {@link #rules} to the sink's bucket, keeping rules that are not this repository's.
     *
     * @throws StorageException if the bucket's lifecycle configuration cannot be read or written
     */
    public static void apply(S3Sink sink, TierSchedule schedule) {
        try {
            replaceRules(sink, schedule);
        } catch (IOException e) {
            throw StorageException.of(null, "could not apply the lifecycle rules to bucket " + sink.bucket() + ": " + e, e, null);
        }
    }

    private static void replaceRules(S3Sink sink, TierSchedule schedule) throws IOException {
        List<LifecycleRule> ours = rules(sink, schedule);
        String mine = ours.get(ours.size() - 1).id().replace("-abort-incomplete", "");
        List<LifecycleRule> all = new ArrayList<>();
        try {
            for (LifecycleRule r : sink.client().getBucketLifecycleConfiguration(b -> b.bucket(sink.bucket())).join().rules()) {
                if (r.id() == null || !r.id().startsWith(mine + "-")) {
                    all.add(r);
                }
            }
        } catch (CompletionException e) {
            if (!"NoSuchLifecycleConfiguration".equals(S3Errors.code(e))) {
                throw S3Errors.translate("GetBucketLifecycleConfiguration", sink.bucket(), "", e);
            }
        }
        all.addAll(ours);
        try {
            sink.client().putBucketLifecycleConfiguration(b -> b.bucket(sink.bucket())
                    .lifecycleConfiguration(BucketLifecycleConfiguration.builder().rules(all).build())).join();
        } catch (CompletionException e) {
            throw S3Errors.translate("PutBucketLifecycleConfiguration", sink.bucket(), "", e);
        }
    }
}
