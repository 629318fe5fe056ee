package io.dnv.sim.vm;

/**
 * Shell snippets for raw block I/O inside a guest. busybox dd's iflag=direct does not
 * reliably bypass the page cache (seen in the VM: a read of /dev/ram0 returned stale zeroes
 * after a direct write through a dm device above it), so every read first flushes and drops
 * the device's buffers (BLKFLSBUF), and every write is followed by the same. A dd the kernel
 * fails prints "dd: error writing '...': &lt;strerror&gt;" on stderr and the snippet exits 1.
 */
public final class GuestIo {

    private GuestIo() {}

    /** Copies {@code file} onto {@code device} at a byte offset (a multiple of 512). */
    public static String write(String file, String device, long offset) {
        return dd(file, device, offset) + " 2>/tmp/dd.err || { cat /tmp/dd.err >&2; exit 1; }\n"
                + "blockdev --flushbufs " + device + "\n";
    }

    /** The dd of {@link #write}, without redirections: also run in the background. */
    public static String dd(String file, String device, long offset) {
        long bs = blockSize(offset, 0);
        return "dd if=" + file + " of=" + device + " bs=" + bs + " seek=" + offset / bs + " conv=notrunc oflag=direct";
    }

    /** Prints the md5 of [offset, offset + length) of a file or device (both multiples of 512). */
    public static String md5(String path, long offset, long length) {
        long bs = blockSize(offset, length);
        String flush = path.startsWith("/dev/") ? "blockdev --flushbufs " + path + " || exit 1\n" : "";
        return "rm -f /tmp/md5.err\n" + flush + "dd if=" + path + " bs=" + bs + " skip=" + offset / bs + " count=" + length / bs
                + (path.startsWith("/dev/") ? " iflag=direct" : "") + " 2>/tmp/md5.err | md5sum\n"
                + "! grep -q '^dd: ' /tmp/md5.err || { cat /tmp/md5.err >&2; exit 1; }\n";
    }

    /** The largest I/O size up to 1 MiB that divides both: every request across nvme/tcp costs in an emulated guest. */
    private static long blockSize(long offset, long length) {
        long bs = 1 << 20;
        while (bs > 512 && (offset % bs != 0 || length % bs != 0)) {
            bs >>= 1;
        }
        return bs;
    }
}
