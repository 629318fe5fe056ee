package io.dnv.core.kernel;

import java.util.Optional;

/**
 * A raid1 line of `dmsetup status`: {@code <start> <len> raid raid1 <#devices> <health> <synced>/<total>
 * <sync action> <mismatches> <data offset> <journal>}. Health has one character per side, in table
 * order: {@code A} alive and in sync, {@code a} alive and recovering, {@code D} dead (md failed it).
 */
public record Raid1Status(String health, long syncedSectors, long totalSectors, String syncAction) {

    /** The status of a one-line raid1 table, or empty for anything else. */
    public static Optional<Raid1Status> parse(String status) {
        String[] w = status.trim().split("\\s+");
        if (w.length < 9 || !w[2].equals("raid") || !w[3].equals("raid1")) {
            return Optional.empty();
        }
        String[] ratio = w[6].split("/");
        try {
            return Optional.of(new Raid1Status(w[5], Long.parseLong(ratio[0]), Long.parseLong(ratio[1]), w[7]));
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return Optional.empty();
        }
    }

    public boolean inSync(int side) {
        return side < health.length() && health.charAt(side) == 'A';
    }

    public boolean dead(int side) {
        return side < health.length() && health.charAt(side) == 'D';
    }
}
