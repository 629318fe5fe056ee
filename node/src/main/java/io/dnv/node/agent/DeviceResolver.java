package io.dnv.node.agent;

import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmLine;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.ObservedKernel;

import java.util.Optional;

/**
 * Turns the planner's stable device names into what the kernel takes: a path to write a table
 * with, or the major:minor the kernel prints, to compare a live table with the desired one.
 */
final class DeviceResolver {

    private final Pass pass;
    private final Optional<String> disk;

    DeviceResolver(Pass pass, Optional<String> disk) {
        this.pass = pass;
        this.disk = disk;
    }

    /** The path of a device that exists now, or empty when it does not (yet). */
    Optional<String> path(DeviceRef ref) {
        if (ref instanceof DeviceRef.Dm dm) {
            boolean exists = pass.createdDm.contains(dm.name()) || pass.dm(dm.name()).isPresent();
            return exists ? Optional.of(dm.path()) : Optional.empty();
        }
        if (ref instanceof DeviceRef.Namespace ns) {
            return pass.namespace(ns.uuid()).map(ObservedKernel.BlockDevice::path);
        }
        if (ref instanceof DeviceRef.Disk disk) {
            return Optional.of(disk.path());
        }
        return Optional.of(((DeviceRef.Raw) ref).majorMinor());
    }

    /** major:minor as the kernel prints it in tables, or "?" when unknown (never equal to a live table). */
    String majorMinor(DeviceRef ref) {
        Optional<String> mm;
        if (ref instanceof DeviceRef.Dm dm) {
            mm = pass.dm(dm.name()).map(ObservedKernel.Dm::majorMinor);
        } else if (ref instanceof DeviceRef.Namespace ns) {
            mm = pass.namespace(ns.uuid()).map(ObservedKernel.BlockDevice::majorMinor);
        } else if (ref instanceof DeviceRef.Disk disk) {
            mm = pass.blockDevice(disk.path()).map(ObservedKernel.BlockDevice::majorMinor);
        } else {
            mm = Optional.of(((DeviceRef.Raw) ref).majorMinor());
        }
        return mm.orElse("?");
    }

    /**
     * The node's disk, by the path its configuration names, if every line of a live table is
     * linear over it: where the device's bytes lie once the device itself is gone.
     */
    Optional<String> diskUnder(DmTable live) {
        for (DmLine l : live.lines()) {
            if (!(l.target() instanceof DmTarget.Linear linear && isDisk(linear.device().symbol()))) {
                return Optional.empty();
            }
        }
        return live.lines().isEmpty() ? Optional.empty() : disk;
    }

    /**
     * Whether a major:minor in a live table is the node's disk. Only the configuration says which
     * disk that is: Linux shows a UUID for a local NVMe namespace that reports one, just as for an
     * imported one, so nothing the kernel shows tells a disk from an import.
     */
    boolean isDisk(String majorMinor) {
        return disk.flatMap(pass::blockDevice).map(ObservedKernel.BlockDevice::majorMinor).filter(majorMinor::equals).isPresent();
    }
}
