package dev.backstop.postgres.wal;

/**
 * Timelines 1..current of one history and the LSN each began at. A segment is named after
 * the newest timeline that began before the segment ends, as PostgreSQL names the files it
 * looks for during recovery.
 */
record Timelines(int current, long[] begins) {
    static Timelines parse(int current, String history) {
        long[] begins = new long[current];
        for (String line : history.split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length >= 2 && f[0].matches("\\d+")) {
                int parent = Integer.parseInt(f[0]);
                if (parent >= 1 && parent < current) {
                    begins[parent] = WalFile.parseLsn(f[1]);
                }
            }
        }
        return new Timelines(current, begins);
    }

    boolean contains(int timeline) {
        return timeline >= 1 && timeline <= current;
    }

    int owner(long segmentStart) {
        for (int t = current; t > 1; t--) {
            if (begins[t - 1] < segmentStart + WalFile.SEGMENT_BYTES) {
                return t;
            }
        }
        return 1;
    }

    WalFile segmentAt(long lsn) {
        return WalFile.segmentOf(owner(lsn - Long.remainderUnsigned(lsn, WalFile.SEGMENT_BYTES)), lsn);
    }
}
