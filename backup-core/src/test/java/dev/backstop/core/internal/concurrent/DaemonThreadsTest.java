package dev.backstop.core.internal.concurrent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {

    @Test
    void numbered_namesThreadsInOrder_andMakesThemDaemons() {
        DaemonThreads f = DaemonThreads.numbered("backstop-test");
        List<Thread> ts = List.of(f.newThread(() -> { }), f.newThread(() -> { }));
        assertThat(ts).extracting(Thread::getName).containsExactly("backstop-test-1", "backstop-test-2");
        assertThat(ts).allMatch(Thread::isDaemon);
    }

    @Test
    void threadPerTask_runsEachTaskOnAFreshNamedThread() throws InterruptedException {
        CountDownLatch ran = new CountDownLatch(1);
        String[] name = new String[1];
        DaemonThreads.threadPerTask(DaemonThreads.named("backstop-one")).execute(() -> {
            name[0] = Thread.currentThread().getName();
            ran.countDown();
        });
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(name[0]).isEqualTo("backstop-one");
    }
}
