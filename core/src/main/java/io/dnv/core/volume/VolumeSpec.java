package io.dnv.core.volume;

/**
 * What a user asked for: a size, A active controllers each owning L legs (so the volume
 * stripes over A·L legs), S standby controllers, and R copies of every byte (raid1 sides).
 */
public record VolumeSpec(long sizeBytes, int activeControllers, int standbyControllers, int legsPerController,
                         int replicas) {

    public static final int MAX_ACTIVE = 8;
    public static final int MAX_STANDBY = 4;
    public static final int MAX_LEGS_PER_CONTROLLER = 16;
    public static final int MAX_REPLICAS = 3;

    public VolumeSpec {
        require(sizeBytes > 0, "sizeBytes must be positive");
        require(activeControllers >= 1 && activeControllers <= MAX_ACTIVE, "activeControllers must be 1.." + MAX_ACTIVE);
        require(standbyControllers >= 0 && standbyControllers <= MAX_STANDBY, "standbyControllers must be 0.." + MAX_STANDBY);
        require(legsPerController >= 1 && legsPerController <= MAX_LEGS_PER_CONTROLLER,
                "legsPerController must be 1.." + MAX_LEGS_PER_CONTROLLER);
        require(replicas >= 1 && replicas <= MAX_REPLICAS, "replicas must be 1.." + MAX_REPLICAS);
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
