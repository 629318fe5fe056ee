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

    public static void main(String[] args) {
        System.exit(new CommandLine(new Dnv()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
