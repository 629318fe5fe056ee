package io.dnv.core.kernel;

/** ANA states as nvmet's configfs spells them. */
public enum AnaState {
    OPTIMIZED("optimized"),
    NON_OPTIMIZED("non-optimized"),
    INACCESSIBLE("inaccessible"),
    PERSISTENT_LOSS("persistent-loss"),
    CHANGE("change");

    private final String configfs;

    AnaState(String configfs) {
        this.configfs = configfs;
    }

    public String configfs() {
        return configfs;
    }

    /** Whether a host sends I/O down a path in this state. */
    public boolean usable() {
        return this == OPTIMIZED || this == NON_OPTIMIZED;
    }

    public static AnaState fromConfigfs(String s) {
        for (AnaState a : values()) {
            if (a.configfs.equals(s.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown ANA state '" + s + "'");
    }
}
