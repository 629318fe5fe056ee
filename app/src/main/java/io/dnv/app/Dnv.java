package io.dnv.app;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The one entry point of every dnv process. Subcommands (dev, controller, agent, bench, ...)
 * are added by the parts of the system that need them.
 */
@Command(name = "dnv", mixinStandardHelpOptions = true, version = "dnv 0.1.0", subcommands = {DevCommand.class, ControllerCommand.class, AgentCommand.class, BenchCommand.class},
        description = "Distributed NVMe: the control plane of a block store built from the Linux kernel's NVMe-oF and device-mapper.")
public final class Dnv implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

    public static void main(String[] args) {
        // Pekko's Java API hands out Scala futures as CompletionStages that run every thenApply,
        // thenCompose and whenComplete on the common ForkJoinPool. On a 2-core machine that pool
        // gets parallelism 1, and then the JDK starts a new thread for every callback: thousands
        // a second under load, which cut the journal's throughput tenfold. Set before any pool exists.
        if (System.getProperty(COMMON_POOL_PARALLELISM) == null) {
            int cores = Runtime.getRuntime().availableProcessors();
            System.setProperty(COMMON_POOL_PARALLELISM, String.valueOf(Math.max(2, cores - 1)));
        }
        System.exit(new CommandLine(new Dnv()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
