package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.node.kernel.Kernel;

import java.util.Optional;

/**
 * One level-based pass from whatever the kernel holds to the desired state: it reads the
 * kernel first and never trusts memory, so the same pass adopts a node after an agent restart
 * (zero mutations when nothing changed) and finishes an operation a crash interrupted.
 *
 * Order: ports and ANA groups, imports, dm devices bottom-up, raid1 sides whose import came
 * back ({@link Raid1Sides}; failing those whose import died is {@link SideWatcher}'s), exports,
 * the size of exports over reloaded devices ({@link Revalidation}); then garbage top-down:
 * exports, dm devices (those over the disk once {@link Zeroing} zeroed them), imports, ANA
 * groups and host entries.
 *
 * A pass given new desired state may look only at what changed ({@link Focus}); a resync
 * looks at everything.
 */
public final class Reconciler {

    private final Kernel kernel;
    private final Optional<String> disk;
    private final Zeroing zeroing;
    private final Isolation isolation;
    private final MappingCache comparisons = new MappingCache();
    private final Raid1Sides raid1Sides = new Raid1Sides();
    private final Unreachable unreachable;
    private final Revalidation revalidation = new Revalidation();
    private final Lanes lanes;
    private final HeldDevices held;
    private Focus.Previous previous;

    /**
     * {@code disk}: the physical disk the node's configuration names (none on a node without one);
     * {@code zeroing}: where devices over it go to be zeroed before they are removed. Every
     * kernel command one after the other.
     */
    Reconciler(Kernel kernel, Optional<String> disk, Zeroing zeroing) {
        this(kernel, disk, zeroing, "", new Isolation(), new Lanes("", 1), new HeldDevices(), () -> {});
    }

    /**
     * {@code isolation}: while the node is cut off, its volume ports' ANA groups stay inaccessible
     * whatever the desired state says; {@code lanes}: how many kernel commands of a pass may run at
     * once; {@code held}: devices an order holds suspended, which a pass leaves as they are;
     * {@code importsBack}: told when a target that did not answer lately answered a connect tried
     * beside the passes.
     */
    Reconciler(Kernel kernel, Optional<String> disk, Zeroing zeroing, String nodeId, Isolation isolation, Lanes lanes,
               HeldDevices held, Runnable importsBack) {
        this.held = held;
        this.kernel = kernel;
        this.disk = disk;
        this.zeroing = zeroing;
        this.isolation = isolation;
        this.lanes = lanes;
        this.unreachable = new Unreachable(nodeId, importsBack);
    }

    /** Compares every desired object with the kernel. */
    public PassResult reconcile(DesiredNode desired) {
        return reconcile(desired, true);
    }

    /** Compares what changed since the previous pass, or everything when the kernel changed too. */
    public PassResult reconcileChanges(DesiredNode desired) {
        return reconcile(desired, false);
    }

    private PassResult reconcile(DesiredNode desired, boolean everything) {
        Pass pass = new Pass(kernel, desired);
        Focus.Named named = Focus.Named.of(desired);
        pass.focus = everything ? Focus.EVERYTHING : Focus.since(previous, desired, named, pass.observed);
        DeviceResolver devices = new DeviceResolver(pass, disk);
        NvmetConvergence nvmet = new NvmetConvergence(pass, devices, isolation);
        ConnectionConvergence connections = new ConnectionConvergence(pass, unreachable, raid1Sides);
        DmConvergence dm = new DmConvergence(pass, devices, comparisons, zeroing, raid1Sides, held);

        nvmet.convergePorts();
        if (connections.connect()) {
            pass.reobserveHost();
        }
        connections.reportPreparedDown();
        dm.converge(lanes);
        raid1Sides.readdAndReport(pass, devices);
        nvmet.convergeSubsystems(lanes);
        revalidation.revalidate(pass);
        if (pass.focus.garbage()) {
            nvmet.removeGarbageSubsystems();
            dm.removeGarbage();
            connections.disconnectGarbage();
            pass.reobserveIfMutated();
            nvmet.removeGarbageGroupsAndHosts();
            comparisons.retainOnly(pass.desiredDmNames());
        }
        pass.reobserveIfMutated();
        PassResult result = new PassResult(desired.generation(), pass.mutations, pass.failures, pass.waiting, pass.unsettled,
                pass.observed, pass.focus.everything(), zeroing.progress(), pass.degraded);
        previous = new Focus.Previous(desired, result, named);
        return result;
    }
}
