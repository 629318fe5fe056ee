package io.dnv.node.kernel;

/**
 * A kernel operation that failed: which object, which operation, and what the kernel said
 * (for Linux, the command's stderr; for the simulator, the message Linux would give).
 */
public class KernelException extends RuntimeException {

    /** What Linux (and the simulator) says for EEXIST: a thin id that exists already, for instance. */
    public static final String FILE_EXISTS = "File exists";
    /** ENODATA: a thin id a pool does not have. */
    public static final String NO_DATA = "No data available";

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
