package io.dnv.core.volume;

/**
 * What a user asked for: a size, A active controllers each owning L legs (so the volume
 * stripes over A·L legs), S standby controllers, and R copies of every byte (raid1 sides).
 * Every rule of a spec is here, so the API refuses exactly what no entity, placer or planner
 * would take.
 */
public record VolumeSpec(long sizeBytes, int activeControllers, int standbyControllers, int legsPerController,
                         int replicas) {

    /** Sizes are asked in whole MiB, up to 64 TiB; whether the cluster has the room is the placer's question. */
    public static final long SIZE_UNIT = 1 << 20;
    public static final long MAX_SIZE_BYTES = 64L << 40;
    public static final String SIZE_RULE = "a positive multiple of 1 MiB (" + SIZE_UNIT + "), at most 64 TiB (" + MAX_SIZE_BYTES + ")";
    public static final int MAX_ACTIVE = 8;
    public static final int MAX_STANDBY = 4;
    public static final int MAX_LEGS_PER_CONTROLLER = 16;
    public static final int MAX_REPLICAS = 3;

    public VolumeSpec {
        require(isSize(sizeBytes), "sizeBytes must be " + SIZE_RULE);
        require(activeControllers >= 1 && activeControllers <= MAX_ACTIVE, "activeControllers must be 1.." + MAX_ACTIVE);
        require(standbyControllers >= 0 && standbyControllers <= MAX_STANDBY, "standbyControllers must be 0.." + MAX_STANDBY);
        require(legsPerController >= 1 && legsPerController <= MAX_LEGS_PER_CONTROLLER,
                "legsPerController must be 1.." + MAX_LEGS_PER_CONTROLLER);
        require(replicas >= 1 && replicas <= MAX_REPLICAS, "replicas must be 1.." + MAX_REPLICAS);
    }

    public static boolean isSize(long bytes) {
        return bytes > 0 && bytes % SIZE_UNIT == 0 && bytes <= MAX_SIZE_BYTES;
    }

    public int legCount() {
        return activeControllers * legsPerController;
    }

    public int controllerCount() {
        return activeControllers + standbyControllers;
    }

    private static void require(boolean ok, String rule) {
        if (!ok) {
            throw new IllegalArgumentException(rule);
        }
    }
}
