package dev.backstop.core.event;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/**
 * Every event logged under {@code dev.backstop} and {@code test} while open, from DEBUG up, with
 * its MDC and thread taken when it was logged (Logback reads both lazily otherwise).
 */
final class CapturedLogs extends AppenderBase<ILoggingEvent> implements AutoCloseable {
    private static final List<String> LOGGERS = List.of("dev.backstop", "test");
    private final List<ILoggingEvent> events = new ArrayList<>();

    CapturedLogs() {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        setContext(ctx);
        setName("captured");
        start();
        for (String name : LOGGERS) {
            Logger l = ctx.getLogger(name);
            l.setLevel(Level.DEBUG);
            // DEBUG events are for the assertions, not for the console
            l.setAdditive(false);
            l.addAppender(this);
        }
    }

    @Override
    protected void append(ILoggingEvent e) {
        e.prepareForDeferredProcessing();
        synchronized (events) {
            events.add(e);
        }
    }

    List<ILoggingEvent> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    /** The events whose {@code event} key is {@code name}. */
    List<ILoggingEvent> named(String name) {
        return events().stream().filter(e -> name.equals(value(e, "event"))).toList();
    }

    /** The value of key {@code key} of {@code e}, or null. */
    static Object value(ILoggingEvent e, String key) {
        List<KeyValuePair> kvs = e.getKeyValuePairs();
        if (kvs != null) {
            for (KeyValuePair kv : kvs) {
                if (kv.key.equals(key)) {
                    return kv.value;
                }
            }
        }
        return null;
    }

    static Map<String, String> mdc(ILoggingEvent e) {
        return e.getMDCPropertyMap();
    }

    @Override
    public void close() {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        for (String name : LOGGERS) {
            Logger l = ctx.getLogger(name);
            l.detachAppender(this);
            l.setAdditive(true);
            l.setLevel(null);
        }
        stop();
    }
}
