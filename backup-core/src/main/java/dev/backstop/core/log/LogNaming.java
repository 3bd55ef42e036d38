package dev.backstop.core.log;

/**
 * How an engine names the files of its log stream: what {@link LogStore} needs to know of an
 * engine beyond the bytes.
 *
 * <p><b>Guarantees an implementation must give.</b> {@link #parse} is a pure function: the same
 * name always gives the same {@link LogFile}, whose {@code name} is the name given. Two
 * positioned files of one epoch never overlap, and their names sort in the order of their
 * positions.
 *
 * <p><b>Threading.</b> Called from any thread; must be stateless or immutable.
 *
 * <p><b>Sample.</b> Files {@code file-000001}, {@code file-000002}, … each holding one position:
 * <pre>{@code
 * LogNaming naming = name -> {
 *     long n = Long.parseLong(name.substring("file-".length()));
 *     return LogFile.positioned("1", name, n, n + 1);
 * };
 * }</pre>
 */
@FunctionalInterface
public interface LogNaming {

    /**
     * The file called {@code name}.
     *
     * @throws IllegalArgumentException if {@code name} is not a file of this engine, saying what
     *     names look like
     */
    LogFile parse(String name);
}
