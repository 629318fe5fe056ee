package io.dnv.core.kernel;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * One device-mapper target type with its arguments, in 512-byte sectors. {@link #args} renders
 * the words after the target type exactly as Linux prints them back in `dmsetup table`, so a
 * rendered table with devices resolved to major:minor equals the kernel's output.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = DmTarget.Linear.class, name = "linear"),
        @JsonSubTypes.Type(value = DmTarget.Error.class, name = "error"),
        @JsonSubTypes.Type(value = DmTarget.Striped.class, name = "striped"),
        @JsonSubTypes.Type(value = DmTarget.Raid0.class, name = "raid0"),
        @JsonSubTypes.Type(value = DmTarget.Raid1.class, name = "raid1"),
        @JsonSubTypes.Type(value = DmTarget.ThinPool.class, name = "thin-pool"),
        @JsonSubTypes.Type(value = DmTarget.Thin.class, name = "thin"),
        @JsonSubTypes.Type(value = DmTarget.Clone.class, name = "clone")})
public sealed interface DmTarget {

    String type();

    List<String> args(Function<DeviceRef, String> device);

    /** The devices this target maps onto, in table order. */
    List<DeviceRef> devices();

    /** Whether two targets map I/O the same way; creation-time words (nosync, rebuild) do not count. */
    default boolean sameMapping(DmTarget other) {
        return equals(other);
    }

    /** The target as it is loaded once its device exists: without words only a first load may carry. */
    default DmTarget created() {
        return this;
    }

    record Linear(DeviceRef device, long offset) implements DmTarget {
        public String type() {
            return "linear";
        }

        public List<String> args(Function<DeviceRef, String> dev) {
            return List.of(dev.apply(device), Long.toString(offset));
        }

        public List<DeviceRef> devices() {
            return List.of(device);
        }
    }

    record Error() implements DmTarget {
        public String type() {
            return "error";
        }

        public List<String> args(Function<DeviceRef, String> dev) {
            return List.of();
        }

        public List<DeviceRef> devices() {
            return List.of();
        }
    }

    /** `striped N chunk dev0 0 dev1 0 ...`: equivalent to raid0 for equal legs. */
    record Striped(int chunkSectors, List<DeviceRef> stripes) implements DmTarget {
        public Striped {
            stripes = List.copyOf(stripes);
        }

        public String type() {
            return "striped";
        }

        public List<String> args(Function<DeviceRef, String> dev) {
            List<String> a = new ArrayList<>(List.of(Integer.toString(stripes.size()), Integer.toString(chunkSectors)));
            for (DeviceRef s : stripes) {
                a.add(dev.apply(s));
                a.add("0");
            }
            return a;
        }

        public List<DeviceRef> devices() {
            return stripes;
        }
    }

    /** dm-raid raid0: `raid raid0 1 chunk N - dev0 - dev1 ...` (no metadata devices). */
    record Raid0(int chunkSectors, List<DeviceRef> legs) implements DmTarget {
        public Raid0 {
            legs = List.copyOf(legs);
        }

        public String type() {
            return "raid";
        }

        public List<String> args(Function<DeviceRef, String> dev) {
            List<String> a = new ArrayList<>(List.of("raid0", "1", Integer.toString(chunkSectors), Integer.toString(legs.size())));
            for (DeviceRef l : legs) {
                a.add("-");
                a.add(dev.apply(l));
            }
            return a;
        }

        public List<DeviceRef> devices() {
            return legs;
        }
    }

    /**
     * dm-raid raid1 over (metadata, data) pairs. A missing side is an empty Optional pair,
     * printed `- -`. `nosync` and `rebuild` only matter when the table is loaded. Without a
     * region size the kernel picks one (and an existing array keeps the one its bitmap has);
     * the table then prints none.
     */
    record Raid1(OptionalLong regionSectors, boolean nosync, OptionalInt rebuild, List<Side> sides) implements DmTarget {
        public Raid1 {
            sides = List.copyOf(sides);
        }

        public record Side(Optional<DeviceRef> meta, Optional<DeviceRef> data) {
            public static Side of(DeviceRef meta, DeviceRef data) {
                return new Side(Optional.of(meta), Optional.of(data));
            }

            public static Side missing() {
                return new Side(Optional.empty(), Optional.empty());
            }
        }

        public String type() {
            return "raid";
        }

        /** Linux counts the chunk size and every option word: 1 plain, 2 with nosync, 3 with rebuild, 2 more with region_size. */
        public List<String> args(Function<DeviceRef, String> dev) {
            List<String> opts = new ArrayList<>(List.of("0"));
            if (nosync) {
                opts.add("nosync");
            }
            if (rebuild.isPresent()) {
                opts.add("rebuild");
                opts.add(Integer.toString(rebuild.getAsInt()));
            }
            regionSectors.ifPresent(r -> {
                opts.add("region_size");
                opts.add(Long.toString(r));
            });
            List<String> a = new ArrayList<>(List.of("raid1", Integer.toString(opts.size())));
            a.addAll(opts);
            a.add(Integer.toString(sides.size()));
            for (Side s : sides) {
                a.add(s.meta().map(dev).orElse("-"));
                a.add(s.data().map(dev).orElse("-"));
            }
            return a;
        }

        public List<DeviceRef> devices() {
            List<DeviceRef> d = new ArrayList<>();
            for (Side s : sides) {
                s.meta().ifPresent(d::add);
                s.data().ifPresent(d::add);
            }
            return d;
        }

        @Override
        public boolean sameMapping(DmTarget other) {
            return other instanceof Raid1 r && r.regionSectors.equals(regionSectors) && r.sides.equals(sides);
        }

        /** nosync skips the initial copy, which is only right while the sides hold nothing a host wrote. */
        @Override
        public Raid1 created() {
            return nosync ? new Raid1(regionSectors, false, rebuild, sides) : this;
        }
    }

    record ThinPool(DeviceRef metadata, DeviceRef data, long blockSectors, long lowWaterBlocks,
                    boolean skipBlockZeroing, boolean errorIfNoSpace) implements DmTarget {
        public String type() {
            return "thin-pool";
        }

        /** Feature words in the order dm-thin prints them. */
        public List<String> args(Function<DeviceRef, String> dev) {
            List<String> features = new ArrayList<>();
            if (skipBlockZeroing) {
                features.add("skip_block_zeroing");
            }
            if (errorIfNoSpace) {
                features.add("error_if_no_space");
            }
            List<String> a = new ArrayList<>(List.of(dev.apply(metadata), dev.apply(data),
                    Long.toString(blockSectors), Long.toString(lowWaterBlocks), Integer.toString(features.size())));
            a.addAll(features);
            return a;
        }

        public List<DeviceRef> devices() {
            return List.of(metadata, data);
        }
    }

    record Thin(DeviceRef pool, long deviceId) implements DmTarget {
        public String type() {
            return "thin";
        }

        public List<String> args(Function<DeviceRef, String> dev) {
            return List.of(dev.apply(pool), Long.toString(deviceId));
        }

        public List<DeviceRef> devices() {
            return List.of(pool);
        }
    }

    /**
     * dm-clone: {@code destination} becomes a copy of {@code source} region by region
     * (hydration), reads of a region not yet copied go to the source. Linux prints the words
     * after the devices as they were given; these are rendered in dm-clone's own order (region,
     * features, core arguments), so a table written from this record prints back the same.
     */
    record Clone(DeviceRef metadata, DeviceRef destination, DeviceRef source, long regionSectors, boolean noHydration,
                 boolean noDiscardPassdown, OptionalLong hydrationThreshold, OptionalLong hydrationBatchSize) implements DmTarget {
        public String type() {
            return "clone";
        }

        public List<String> args(Function<DeviceRef, String> dev) {
            List<String> a = new ArrayList<>(List.of(dev.apply(metadata), dev.apply(destination), dev.apply(source),
                    Long.toString(regionSectors)));
            List<String> features = new ArrayList<>();
            if (noHydration) {
                features.add("no_hydration");
            }
            if (noDiscardPassdown) {
                features.add("no_discard_passdown");
            }
            List<String> core = new ArrayList<>();
            hydrationThreshold.ifPresent(v -> core.addAll(List.of("hydration_threshold", Long.toString(v))));
            hydrationBatchSize.ifPresent(v -> core.addAll(List.of("hydration_batch_size", Long.toString(v))));
            if (!features.isEmpty() || !core.isEmpty()) {
                a.add(Integer.toString(features.size()));
                a.addAll(features);
            }
            if (!core.isEmpty()) {
                a.add(Integer.toString(core.size()));
                a.addAll(core);
            }
            return a;
        }

        public List<DeviceRef> devices() {
            return List.of(metadata, destination, source);
        }
    }
}
