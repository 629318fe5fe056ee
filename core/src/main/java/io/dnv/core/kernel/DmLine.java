package io.dnv.core.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** One line of a device-mapper table: a target over sectors [start, start + length). */
public record DmLine(long start, long length, DmTarget target) {

    public String render(Function<DeviceRef, String> device) {
        List<String> words = new ArrayList<>(List.of(Long.toString(start), Long.toString(length), target.type()));
        words.addAll(target.args(device));
        return String.join(" ", words);
    }
}
