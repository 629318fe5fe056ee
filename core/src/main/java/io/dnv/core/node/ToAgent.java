package io.dnv.core.node;

import io.dnv.core.CborSerializable;
import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.ObservedKernel;
import org.apache.pekko.actor.typed.ActorRef;

import java.util.Optional;

/** What the control plane sends a storage node's agent. */
public sealed interface ToAgent extends CborSerializable {

    /** The node's whole desired state; the agent keeps only the newest generation. */
    record Push(DesiredNode desired) implements ToAgent {}

    /** The kernel as the agent last observed it. */
    record GetKernel(ActorRef<KernelReport> replyTo) implements ToAgent {}

    record KernelReport(Optional<ObservedKernel> kernel) implements CborSerializable {}
}
