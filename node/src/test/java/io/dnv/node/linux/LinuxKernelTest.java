package io.dnv.node.linux;

import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.node.kernel.KernelException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What LinuxKernel refuses before it runs anything as root. */
class LinuxKernelTest {

    private final List<String> scripts = new ArrayList<>();
    private final LinuxKernel kernel = new LinuxKernel((script, timeout) -> {
        scripts.add(script);
        return new CommandRunner.Result(0, "instance=1,cntlid=1\n", "", false);
    }, Duration.ofSeconds(5), List.of());

    /**
     * An NQN becomes a configfs path segment (nvmet/hosts/&lt;nqn&gt;): one that is not an NQN,
     * a '/' above all, would make mkdir create directories elsewhere as root. Nothing runs.
     */
    @Test
    void noConfigfsPathIsBuiltFromANameThatIsNotAnNqn() {
        String ok = "nqn.2024-01.io.dnv:vol:v";
        for (String bad : List.of("nqn.2024-01.a:x/../../../tmp/p", "nqn.2014-08.org.nvmexpress:uuid:not-a-uuid", "x")) {
            List<Runnable> calls = List.of(
                    () -> kernel.nvmetHostCreate(bad),
                    () -> kernel.nvmetHostRemove(bad),
                    () -> kernel.nvmetSubsystemCreate(bad, 1, 99, "sn"),
                    () -> kernel.nvmetSubsystemRemove(bad),
                    () -> kernel.nvmetAllowAnyHost(bad, false),
                    () -> kernel.nvmetAllowHost(ok, bad),
                    () -> kernel.nvmetAllowHost(bad, ok),
                    () -> kernel.nvmetDisallowHost(ok, bad),
                    () -> kernel.nvmetNamespaceCreate(bad, 1, "/dev/x", UUID.randomUUID(), "00", 1),
                    () -> kernel.nvmetNamespaceEnable(bad, 1, true),
                    () -> kernel.nvmetNamespaceRemove(bad, 1),
                    () -> kernel.nvmetLink(1, bad),
                    () -> kernel.nvmetUnlink(1, bad),
                    () -> kernel.nvmeConnect(new NvmeConnection("tcp", "10.0.0.1", 4420, bad, ok, UUID.randomUUID(),
                            ConnectTimeouts.DISK)),
                    () -> kernel.nvmeConnect(new NvmeConnection("tcp", "10.0.0.1", 4420, ok, bad, UUID.randomUUID(),
                            ConnectTimeouts.DISK)));
            for (Runnable call : calls) {
                assertThrows(KernelException.class, call::run, bad);
            }
        }
        assertEquals(List.of(), scripts);
        kernel.nvmetHostCreate(ok);
        assertEquals(1, scripts.size());
    }

    /**
     * dm-clone counts when its module is loaded, when device-mapper lists the target (built in),
     * or when modprobe could load it (device-mapper loads it at the first clone table); Debian's
     * kernel has none of the three.
     */
    @Test
    void dmCloneIsReportedWhenLoadedBuiltInOrLoadable() {
        String debian = "nvmet\nnvmet_tcp\nnvme_tcp\ndm_mod\ndm_raid\ndm_thin_pool\n#targets\n"
                + "thin-pool        v1.23.0\nraid             v1.15.1\nstriped          v1.6.0\n#loadable\ndm_raid\ndm_thin_pool\n";
        assertEquals(java.util.Set.of("transport:tcp", "dm-raid", "dm-thin-pool"), LinuxKernel.capabilities(debian));
        assertEquals(java.util.Set.of("transport:tcp", "dm-raid", "dm-thin-pool", "dm-clone"),
                LinuxKernel.capabilities(debian.replace("#targets\n", "#targets\nclone            v1.0.0\n")));
        assertEquals(java.util.Set.of("transport:tcp", "dm-raid", "dm-thin-pool", "dm-clone"),
                LinuxKernel.capabilities(debian + "dm_clone\n"));
        assertEquals(java.util.Set.of("dm-clone"), LinuxKernel.capabilities("dm_clone\n#targets\n#loadable\n"));
    }

    /** A probe answers when nc connected or was refused; not when it gave up; and without busybox the connect is the test. */
    @Test
    void aProbeIsAnsweredByAnAcceptOrARefusalNotBySilence() {
        NvmeConnection c = new NvmeConnection("tcp", "10.0.0.1", 4420, "nqn.2024-01.io.dnv:ld:v", "nqn.2024-01.io.dnv:node:n1",
                UUID.randomUUID(), ConnectTimeouts.DISK);
        List<String> ran = new ArrayList<>();
        java.util.function.Function<CommandRunner.Result, Boolean> probe = result -> new LinuxKernel((script, timeout) -> {
            ran.add(script);
            return result;
        }, Duration.ofSeconds(5), List.of()).answers(c, Duration.ofMillis(2500));
        assertEquals(true, probe.apply(new CommandRunner.Result(0, "", "", false)));
        assertEquals("busybox nc -w 3 '10.0.0.1' 4420 -e true", ran.get(0));
        assertEquals(true, probe.apply(new CommandRunner.Result(1, "", "nc: can't connect to remote host (10.0.0.1): Connection refused", false)));
        assertEquals(false, probe.apply(new CommandRunner.Result(1, "", "nc: timed out", false)));
        assertEquals(true, probe.apply(new CommandRunner.Result(127, "", "sh: busybox: not found", false)));
        ran.clear();
        assertEquals(true, new LinuxKernel((script, timeout) -> {
            ran.add(script);
            return new CommandRunner.Result(1, "", "", false);
        }, Duration.ofSeconds(5), List.of()).answers(new NvmeConnection("rdma", "10.0.0.1", 4420, c.subsystemNqn(), c.hostNqn(), c.hostId(),
                c.timeouts()), Duration.ofSeconds(3)));
        assertEquals(List.of(), ran, "only TCP is probed");
    }
}
