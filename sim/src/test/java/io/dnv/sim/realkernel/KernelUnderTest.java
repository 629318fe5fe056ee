package io.dnv.sim.realkernel;

import io.dnv.node.kernel.Kernel;
import io.dnv.core.kernel.ObservedKernel;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One side of the differential suite: a kernel, raw block I/O on it, and a way back to empty. */
interface KernelUnderTest {

    Kernel kernel();

    /** The address a connect to this kernel's own nvmet ports uses. */
    String address();

    void write(String device, long offset, byte[] bytes) throws Exception;

    /** md5 of the bytes at [offset, offset + length) of a device. */
    String md5(String device, long offset, int length) throws Exception;

    /** Every object gone, disks zeroed: the next case starts from a fresh kernel. */
    void reset() throws Exception;

    /**
     * A live table with every major:minor replaced by what it is (dm name, disk path, or the
     * UUID of an imported namespace), so two kernels that numbered devices differently compare.
     */
    static String symbolicTable(ObservedKernel k, String dmName) {
        Map<String, String> names = new HashMap<>();
        k.dmDevices().forEach(d -> names.put(d.majorMinor(), d.name()));
        k.blockDevices().forEach(b -> names.put(b.majorMinor(), b.uuid().map(u -> "uuid:" + u).orElse(b.path())));
        String table = k.dm(dmName).map(ObservedKernel.Dm::table).orElse("<no device " + dmName + ">");
        Matcher m = Pattern.compile("\\b\\d+:\\d+\\b").matcher(table);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(names.getOrDefault(m.group(), m.group())));
        }
        m.appendTail(sb);
        return sb.toString();
    }
}
