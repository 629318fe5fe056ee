package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.volume.Placer;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.linux.LinuxKernel;
import io.dnv.node.linux.LocalCommandRunner;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * One storage server's agent: joins the cluster as a storage-node member and keeps this
 * machine's kernel (nvmet configfs, dmsetup, /dev/nvme-fabrics) converged to what the control
 * plane wants. See docs/operations.md for what the server needs.
 */
@Command(name = "agent", mixinStandardHelpOptions = true, description = "Run a storage node's agent against this machine's kernel.")
public final class AgentCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(AgentCommand.class);

    @Option(names = "--config", required = true, description = "HOCON file: see conf/agent.conf")
    Path config;

    @Option(names = "--kernel", defaultValue = "linux", description = "linux (the only backend for a separate process)")
    String kernel;

    @Override
    public Integer call() throws Exception {
        if (!kernel.equals("linux")) {
            System.err.println("dnv agent: --kernel must be linux (simulated kernels share a fabric only inside ./dnv dev)");
            return 2;
        }
        Config c = ConfigFactory.parseFile(config.toFile()).resolve().getConfig("dnv");
        Config n = c.getConfig("node");
        String disk = n.getString("disk.path");
        Kernel linux = new LinuxKernel(new LocalCommandRunner(), Duration.ofSeconds(60), List.of(disk));
        ObservedKernel observed = linux.observe();
        long diskBytes = observed.blockDevices().stream().filter(b -> b.path().equals(disk)).findFirst()
                .orElseThrow(() -> new IllegalStateException("disk " + disk + " not found in /sys/class/block")).sizeSectors() * 512;
        Set<String> capabilities = linux.capabilities();
        NodeInfo info = new NodeInfo(endpoints(n, disk), diskBytes, new HashSet<>(n.getStringList("roles")), labels(n), capabilities);
        log.info("node {}: disk {} ({} bytes), capabilities {}", info.nodeId(), disk, diskBytes, capabilities);
        Set<String> missing = new HashSet<>(Placer.REQUIRED);
        missing.removeAll(capabilities);
        if (!missing.isEmpty()) {
            log.warn("node {} lacks {}: no volume will be placed on it until the modules are loaded "
                    + "(nvmet, nvmet-tcp, nvme-tcp, dm-raid, dm-thin-pool; see docs/operations.md)", info.nodeId(), missing);
        }
        if (!capabilities.contains(Placer.DM_CLONE)) {
            log.info("node {} has no dm-clone: no clone will hydrate on it (docs/operations.md says how to build the module)",
                    info.nodeId());
        }
        Config cluster = c.getConfig("cluster");
        NodeAgent.Settings settings = NodeAgent.Settings.DEFAULT.withStateDirectory(Path.of(n.getString("state-dir")));
        if (n.hasPath("kernel-commands")) {
            settings = settings.withKernelCommands(n.getInt("kernel-commands"));
        }
        ActorSystem<Void> system = Members.storageNode(cluster.getString("host"), cluster.getInt("port"),
                cluster.getStringList("seed-nodes"), info, linux, settings);
        return MemberExit.await(system);
    }

    static NodeEndpoints endpoints(Config n, String disk) {
        String address = n.getString("address");
        Config ports = n.getConfig("ports");
        return new NodeEndpoints(n.getString("id"), address, Optional.of(disk),
                Optional.of(port(ports.getConfig("disk"), address)), Optional.of(port(ports.getConfig("legs"), address)),
                ports.getConfigList("volumes").stream().map(p -> port(p, address)).toList());
    }

    private static NvmetPort port(Config p, String address) {
        return NvmetPort.tcp(p.getInt("id"), address, p.getInt("service"));
    }

    private static Map<String, String> labels(Config n) {
        Map<String, String> labels = new HashMap<>();
        if (n.hasPath("labels")) {
            n.getConfig("labels").entrySet().forEach(e -> labels.put(e.getKey(), e.getValue().unwrapped().toString()));
        }
        return labels;
    }
}
