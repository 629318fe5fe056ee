package io.dnv.sim.realkernel;

import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.kernel.Kernel;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One side of the differential suite: a kernel, raw block I/O on it, a second kernel on the
 * same network for cases that need two machines, and a way back to empty.
 *
 * <p>Block I/O that the kernel fails throws {@link IoFailed} with the errno; anything else
 * that goes wrong (a broken guest script, a lost channel) is thrown as it is and fails the
 * test as an error, never as an outcome.
 */
interface KernelUnderTest {

    Kernel kernel();

    /** The address a connect to this kernel's own nvmet ports uses. */
    String address();

    /** Another kernel on the same network, with disks of its own (a second storage server). */
    KernelUnderTest peer();

    /**
     * Writes write #{@code seed} at {@code offset}: {@code length} bytes the kernel makes for that
     * seed once per case (random, its own), kept so that {@link #md5Of} can say what they were.
     */
    void write(String device, long offset, long seed, int length) throws IoFailed;

    /** md5 of the bytes at [offset, offset + length) of a device. */
    String md5(String device, long offset, int length) throws IoFailed;

    /** md5 of the bytes {@code expected} describes, as this kernel and its peer made their writes. */
    String md5Of(Bytes expected);

    /** Starts write #{@code seed}, which may be held (a suspended device, a full pool); {@link #awaitWrite} tells how it ended. */
    void startWrite(String tag, String device, long offset, long seed, int length);

    /** "ok", "failed ERRNO", or "pending" while the write started under {@code tag} has not ended within {@code within}. */
    String awaitWrite(String tag, Duration within) throws InterruptedException;

    /** Every object gone, disks zeroed, on this kernel and (if it was used) the peer: the next case starts afresh. */
    void reset() throws Exception;

    /** The kernel failed a read or write with this errno. */
    final class IoFailed extends Exception {
        final String errno;

        IoFailed(String errno, String message) {
            super(message);
            this.errno = errno;
        }
    }

    /**
     * Table or status text with every major:minor replaced by what it is (dm name, disk path,
     * or the UUID of an imported namespace), so two kernels that numbered devices differently compare.
     */
    static String symbolic(ObservedKernel k, String text) {
        Map<String, String> names = new HashMap<>();
        k.dmDevices().forEach(d -> names.put(d.majorMinor(), d.name()));
        k.blockDevices().forEach(b -> names.put(b.majorMinor(), b.uuid().map(u -> "uuid:" + u).orElse(b.path())));
        Matcher m = Pattern.compile("\\b\\d+:\\d+\\b").matcher(text);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(names.getOrDefault(m.group(), m.group())));
        }
        m.appendTail(sb);
        return sb.toString();
    }
}
