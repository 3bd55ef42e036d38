package dev.backstop.mysql.binlog;

import java.time.Duration;
import java.time.Instant;

/**
 * How much committed work would be lost if this host and the server disappeared now, from {@link
 * BinlogReceiver#rpo()}.
 *
 * <p><b>Granularity.</b> By default the file being written is archived as delta objects every poll
 * interval (200 ms), so {@code archivedPosition} moves inside the active file and a commit is in
 * the repository about one interval plus one upload after the tool received it. With {@link
 * BinlogReceiver.Builder#noDeltas()} files are archived whole, when the server has moved to the
 * next one (on {@code max_binlog_size}, {@code FLUSH BINARY LOGS} or a restart): under steady load
 * the lag is then about the time the server takes to fill one file, and on an idle server the tail
 * waits for the next rotation.
 *
 * @param archivedFile     the newest file in the repository, whole or as deltas, or null if none yet
 * @param archivedPosition how far {@code archivedFile} is archived (its size when whole), 0 if none
 * @param localFile        the file being received, or null if none
 * @param localPosition    bytes of {@code localFile} received so far
 * @param lagBytes         bytes received but not in the repository (of the active file and of completed files
 *                         not yet stored)
 * @param lag              how long received work may have waited to be archived: with {@code lagBytes} above
 *                         0, the time since the archive last advanced (or since the receiver started, if it has
 *                         not yet); with nothing waiting, 0 while the tool is receiving and otherwise the time
 *                         since it stopped (its exit, a restart's back-off, a stopped receiver), so a receiver
 *                         that cannot reach its server reads a growing lag even on an idle server; {@link
 *                         Duration#ZERO} before {@link BinlogReceiver#start()}
 * @param restarts         how many times the receiving tool was started again after it exited
 * @param observedAt       when this view was taken
 */
public record BinlogRpo(String archivedFile, long archivedPosition, String localFile, long localPosition, long lagBytes,
                        Duration lag, int restarts, Instant observedAt) {
}
