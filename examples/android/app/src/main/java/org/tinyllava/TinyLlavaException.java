package org.tinyllava;

/** A libtinyllava call failed: {@link #status} is its tlv_status, the message says what, where,
 *  expected and found (the library's own message). */
public class TinyLlavaException extends Exception {
    private static final long serialVersionUID = 1L;

    // tlv_status values (include/tinyllava_status.h)
    public static final int INVALID_ARG = 1, NO_MEMORY = 2, IO = 3, FORMAT = 4, UNSUPPORTED = 5, NO_DEVICE = 6,
            DEVICE = 7, DEVICE_MEMORY = 8, SHAPE = 9, LIMIT = 10, CANCELLED = 11, NETWORK = 12, NOT_FOUND = 13;

    public final int status;

    public TinyLlavaException(int status, String message) {
        super(message);
        this.status = status;
    }
}
