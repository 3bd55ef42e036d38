/**
 * Implementation shared by the packages of this module and exported to no other: running
 * PostgreSQL programs ({@code ToolProcess}, {@code PgPassFile}), reading custom-format dumps and
 * loading them ({@code CustomDump}, {@code ParallelCopy}, {@code AfterData}, {@code
 * RestoreSessions}), stream fingerprints ({@code CopyHashTap}, {@code CopyHashCheck}, {@code
 * CopyLineHash}), and stream and file helpers ({@code ReadAhead}, {@code TarStreams}, {@code
 * WorkDirs}, {@code ServerFailures}). Not API: anything here may change in any release.
 */
package dev.backstop.postgres.internal;
