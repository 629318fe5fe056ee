package io.dnv.node.agent;

import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.ObservedKernel;

import java.util.HashSet;
import java.util.Set;

/**
 * nvmet reads an exported device's size when its namespace is enabled and when told to
 * (`revalidate_size`), and only then tells the hosts (an AEN): a device reloaded larger under a
 * live export (an extend's stripe, a standby's error device, a leg's export) keeps its old size
 * for the hosts until then. After the dm devices, a pass revalidates every enabled namespace over
 * a device it reloaded; one the kernel refused stays unsettled and is tried again by the next
 * passes. Writing it when the size did not change does nothing for the hosts.
 *
 * <p>What is pending lives in the agent's memory: an agent that dies between the resume of a
 * grown device and the write leaves its hosts at the old size (docs/flows.md, Extend).
 */
final class Revalidation {

    private final Set<String> pending = new HashSet<>();

    void revalidate(Pass pass) {
        pending.addAll(pass.reloadedDm);
        if (pending.isEmpty()) {
            return;
        }
        Set<String> refused = new HashSet<>();
        for (ObservedKernel.Subsystem s : pass.observed.subsystems()) {
            for (ObservedKernel.Namespace ns : s.namespaces()) {
                String device = dmName(ns.devicePath());
                if (ns.enabled() && pending.contains(device) && !pass.mutate("nvmet namespace " + ns.nsid() + " revalidate_size",
                        s.nqn(), () -> pass.kernel.nvmetNamespaceRevalidate(s.nqn(), ns.nsid()))) {
                    refused.add(device);
                }
            }
        }
        // Devices no enabled namespace exports need nothing: an export enabled later reads the size then.
        pending.retainAll(refused);
    }

    private static String dmName(String devicePath) {
        String prefix = new DeviceRef.Dm("").path();
        return devicePath.startsWith(prefix) ? devicePath.substring(prefix.length()) : "";
    }
}
