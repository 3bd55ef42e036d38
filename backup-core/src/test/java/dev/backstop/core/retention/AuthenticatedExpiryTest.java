package dev.backstop.core.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.internal.repo.ManifestFormat;
import dev.backstop.core.MutableClock;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retention with keys: it acts only on metadata a KEK holder wrote, and never on a damaged manifest. */
class AuthenticatedExpiryTest {
    private static final Instant T0 = Instant.parse("2026-11-01T02:00:00Z");

    @TempDir
    Path tmp;
    FileSystemSink sink;
    Repository repo;
    LocalKeysetKek kek;
    final MutableClock clock = new MutableClock(T0);
    final SplittableRandom random = new SplittableRandom(7);

    @BeforeEach
    void setUp() {
        sink = FileSystemSink.open(tmp.resolve("repo"));
        repo = Repository.on(sink);
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
    }

    /** Six daily encrypted backups, each checked by a keyed full decode. */
    List<Manifest> sixDays() {
        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        List<Manifest> out = new ArrayList<>();
        for (int day = 0; day < 6; day++) {
            clock.set(T0.plus(Duration.ofDays(day)));
            CaptureSource source = new CaptureSource() {
                @Override
                public BackupType type() {
                    return BackupType.RAW;
                }

                @Override
                public CaptureResult capture(Streams streams) throws IOException {
                    try (OutputStream o = streams.open("data")) {
                        o.write(new byte[] {1, 2, 3});
                    }
                    return CaptureResult.builder(SourceInfo.of("test", "1")).build();
                }
            };
            Manifest m = BackupPipeline.builder().source(source).repository(repo).clock(clock).random(random)
                    .encrypt(Encryption.with(kek)).pipelining(false).build().run();
            restore.verify(m);
            out.add(m);
        }
        return out;
    }

    Expiry expiry(Repository r) {
        return Expiry.builder().repository(r).planner(RetentionPlanner.of(RetentionPolicy.keepLast(2))).clock(clock).build();
    }

    @Test
    void expiry_withDamagedManifests_deletesNothingTheyCouldReferTo() throws IOException {
        List<Manifest> all = sixDays();
        Manifest empty = all.get(0);
        Manifest invalid = all.get(1);
        Files.write(sink.pathOf(Repository.manifestKey(empty.id())), new byte[0]);
        Files.writeString(sink.pathOf(Repository.manifestKey(invalid.id())), "{ not json");

        ExpiryReport report = expiry(repo.withKeys(kek)).run();

        assertThat(report.deletedBackups()).extracting(BackupId::value)
                .containsExactlyInAnyOrder(all.get(2).id().value(), all.get(3).id().value());
        for (Manifest damaged : List.of(empty, invalid)) {
            assertThat(sink.pathOf(damaged.objects().get(0).key())).exists();
            assertThat(sink.pathOf(Repository.dataKeyObject(damaged.id()))).exists();
            assertThat(sink.pathOf(Repository.manifestKey(damaged.id()))).exists();
        }
    }

    @Test
    void keyedExpiry_ignoresBackupsWhoseTimestampsWereEdited_andKeylessChecksDoNotCountAsVerified() throws IOException {
        List<Manifest> all = sixDays();
        // make the two newest look a year old, checksum recomputed, tag dropped (nobody else can make one)
        for (Manifest m : all.subList(4, 6)) {
            Manifest old = m.toBuilder().startedAt(m.startedAt().minus(Duration.ofDays(365)))
                    .finishedAt(m.finishedAt().minus(Duration.ofDays(365))).build();
            Files.write(sink.pathOf(Repository.manifestKey(m.id())), ManifestFormat.write(old));
        }
        RetentionPlan plan = expiry(repo.withKeys(kek)).plan();
        assertThat(plan.deleted()).doesNotContain(all.get(4).id(), all.get(5).id());
        assertThat(repo.withKeys(kek).damaged()).hasSize(2);
    }

    @Test
    void forgedLegalHold_orJournal_stopsAKeyedExpiry_namingTheObject() throws IOException {
        List<Manifest> all = sixDays();
        Holds.of(repo.withKeys(kek)).placeLegalHold(all.get(0).id(), "case 12");
        assertThat(Holds.of(repo.withKeys(kek)).legalHolds()).containsExactly(all.get(0).id());
        // copied to another backup
        String forged = "state/backups/" + all.get(1).id().value() + "/legal-hold";
        Files.createDirectories(sink.pathOf(forged).getParent());
        Files.writeString(sink.pathOf(forged), Files.readString(sink.pathOf("state/backups/" + all.get(0).id().value()
                + "/legal-hold")).replace(all.get(0).id().value(), all.get(1).id().value()));
        assertThatThrownBy(() -> expiry(repo.withKeys(kek)).run()).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo(forged));
        Files.delete(sink.pathOf(forged));

        String journal = RepositoryLayout.EXPIRY_JOURNALS + "20261101T000000.000Z-forged";
        Files.createDirectories(sink.pathOf(journal).getParent());
        Files.writeString(sink.pathOf(journal), "{\n  \"formatVersion\" : 1,\n  \"backups\" : [ \""
                + all.get(5).id().value() + "\" ]\n}\n", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> expiry(repo.withKeys(kek)).run()).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo(journal));
        assertThat(sink.pathOf(Repository.manifestKey(all.get(5).id()))).exists();
    }
}
