package io.dnv.node.kernel;

/**
 * A kernel operation that failed: which object, which operation, and what the kernel said
 * (for Linux, the command's stderr; for the simulator, the message Linux would give).
 */
public class KernelException extends RuntimeException {

    private final String object;
    private final String operation;
    private final String kernelMessage;

    public KernelException(String object, String operation, String kernelMessage) {
        super(operation + " " + object + ": " + kernelMessage);
        this.object = object;
        this.operation = operation;
        this.kernelMessage = kernelMessage;
    }

    public String object() {
        return object;
    }

    public String operation() {
        return operation;
    }

    public String kernelMessage() {
        return kernelMessage;
    }
}
