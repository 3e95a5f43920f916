package org.tinyllava;

/**
 * Java API of libtinyllava (through libtinyllava_jni.so, examples/android/jni/tinyllava_jni.c).
 *
 * <pre>
 *   try (TinyLlava.Model model = TinyLlava.Model.load(modelDir, context.getCacheDir().getPath());
 *        TinyLlava.Session session = model.newSession()) {
 *       session.addImage(bitmapPixels, width, height);        // or addImageFile(path)
 *       session.addText("What is in the picture?");
 *       String answer = session.generate(256, 0f, piece -> { show(piece); return true; });
 *   }
 * </pre>
 *
 * Models are folders (a TinyLLaVA checkpoint as published on the Hugging Face hub); downloading
 * them is the app's job. Failures throw {@link TinyLlavaException} with the library's message
 * ("no Vulkan driver found ...", "model.safetensors: tensor ...: expected F16, found BF16").
 *
 * Threads: a session is used by one thread at a time; {@link Session#cancel()} may be called from
 * any thread while {@link Session#generate} runs (e.g. the UI thread while a worker generates).
 * Loading and generating take seconds: never call them on the UI thread.
 */
public final class TinyLlava {
    static {
        System.loadLibrary("tinyllava_jni");
    }

    private TinyLlava() {}

    /** Receives the answer piece by piece (whole characters), on the generating thread. */
    public interface TokenCallback {
        /** @return true to go on, false to stop the answer here */
        boolean onPiece(String piece);
    }

    /** Log levels for {@link Model#load(String, String, String, int)}. */
    public static final int LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3;

    /** Library version and build options ("tinyllava-vk 0.1.0; C11; clang ..."). */
    public static String version() {
        return nativeVersion();
    }

    /** A loaded model (weights on the GPU, tokenizer) and its Vulkan context. */
    public static final class Model implements AutoCloseable {
        private long handle;
        private int openSessions;

        private Model(long handle) {
            this.handle = handle;
        }

        /** Loads the checkpoint folder path; cacheDir keeps the Vulkan pipeline cache (the app's
         *  cache folder; null: none). Logs go to logcat, tag "tinyllava", at WARN and above. */
        public static Model load(String path, String cacheDir) throws TinyLlavaException {
            return load(path, cacheDir, null, LOG_WARN);
        }

        /** device: null for the default choice, "N" for device N, else part of the device name. */
        public static Model load(String path, String cacheDir, String device, int logLevel) throws TinyLlavaException {
            return new Model(nativeModelLoad(path, cacheDir, device, logLevel));
        }

        /** One line: architecture, sizes, dtype, chat template, context length. */
        public synchronized String describe() throws TinyLlavaException {
            return nativeModelDescribe(live());
        }

        /** The token ids of text (addSpecial: a BOS token where the tokenizer adds one). */
        public synchronized int[] tokenize(String text, boolean addSpecial) throws TinyLlavaException {
            return nativeModelTokenize(live(), text, addSpecial);
        }

        /** A new conversation; nCtx 0: the model's context length. */
        public synchronized Session newSession(int nCtx) throws TinyLlavaException {
            Session s = new Session(this, nativeSessionCreate(live(), nCtx));
            openSessions++;
            return s;
        }

        public Session newSession() throws TinyLlavaException {
            return newSession(0);
        }

        private synchronized void sessionClosed() {
            openSessions--;
        }

        private long live() {
            if (handle == 0) throw new IllegalStateException("tinyllava: the model is closed");
            return handle;
        }

        /** Frees the model; its sessions must be closed first. */
        @Override
        public synchronized void close() {
            if (handle == 0) return;
            if (openSessions > 0)
                throw new IllegalStateException("tinyllava: close the model's " + openSessions + " session(s) first");
            nativeModelDestroy(handle);
            handle = 0;
        }
    }

    /** One conversation: images and text added since the last generate form the next user turn. */
    public static final class Session implements AutoCloseable {
        private final Model model;
        private final Object handleLock = new Object(); // cancel() against close()
        private long handle;
        private String lastStopReason = "";

        private Session(Model model, long handle) {
            this.model = model;
            this.handle = handle;
        }

        public synchronized void addImageFile(String path) throws TinyLlavaException {
            nativeAddImageFile(live(), path);
        }

        /** Pixels as Bitmap.getPixels gives them: one int 0xAARRGGBB a pixel, row after row (alpha
         *  is ignored). */
        public synchronized void addImage(int[] argb, int width, int height) throws TinyLlavaException {
            nativeAddImageArgb(live(), argb, width, height);
        }

        /** Pixels as RGB bytes, 3 a pixel, row after row without padding. */
        public synchronized void addImageRgb(byte[] rgb, int width, int height) throws TinyLlavaException {
            nativeAddImageRgb(live(), rgb, width, height);
        }

        public synchronized void addText(String text) throws TinyLlavaException {
            nativeAddText(live(), text);
        }

        /**
         * Answers the images and text added since the last call, streaming the pieces to callback
         * (may be null), and returns the whole answer. maxTokens 0: until the end of the answer or
         * of the context; temperature 0: greedy. {@link #cancel()} ends it early (not an error:
         * {@link #lastStopReason()} is then "cancelled"). An exception thrown by the callback ends
         * it too and is rethrown here.
         */
        public synchronized String generate(int maxTokens, float temperature, TokenCallback callback)
                throws TinyLlavaException {
            return generate(maxTokens, temperature, 0, callback);
        }

        public synchronized String generate(int maxTokens, float temperature, long seed, TokenCallback callback)
                throws TinyLlavaException {
            final StringBuilder answer = new StringBuilder();
            TokenCallback collect = piece -> {
                answer.append(piece);
                return callback == null || callback.onPiece(piece);
            };
            lastStopReason = nativeGenerate(live(), maxTokens, temperature, seed, collect);
            return answer.toString();
        }

        /** Why the last generate stopped: "eos", "stop_string", "max_tokens", "context_full",
         *  "callback" or "cancelled". */
        public synchronized String lastStopReason() {
            return lastStopReason;
        }

        /** Asks a generate running on another thread to stop soon. Any thread; never blocks. */
        public void cancel() {
            synchronized (handleLock) {
                if (handle != 0) nativeCancel(handle);
            }
        }

        /** Forgets the conversation and its images. */
        public synchronized void reset() throws TinyLlavaException {
            nativeReset(live());
        }

        private long live() {
            if (handle == 0) throw new IllegalStateException("tinyllava: the session is closed");
            return handle;
        }

        /** Frees the session (waits for a running generate: cancel() it first to be quick). */
        @Override
        public synchronized void close() {
            long h;
            synchronized (handleLock) {
                h = handle;
                handle = 0;
            }
            if (h == 0) return;
            nativeSessionDestroy(h);
            model.sessionClosed();
        }
    }

    // ---------------------------------------------------------------- natives (tinyllava_jni.c)

    private static native String nativeVersion();
    private static native long nativeModelLoad(String path, String cacheDir, String device, int logLevel)
            throws TinyLlavaException;
    private static native void nativeModelDestroy(long model);
    private static native String nativeModelDescribe(long model) throws TinyLlavaException;
    private static native int[] nativeModelTokenize(long model, String text, boolean addSpecial)
            throws TinyLlavaException;
    private static native long nativeSessionCreate(long model, int nCtx) throws TinyLlavaException;
    private static native void nativeSessionDestroy(long session);
    private static native void nativeAddImageFile(long session, String path) throws TinyLlavaException;
    private static native void nativeAddImageRgb(long session, byte[] rgb, int width, int height)
            throws TinyLlavaException;
    private static native void nativeAddImageArgb(long session, int[] argb, int width, int height)
            throws TinyLlavaException;
    private static native void nativeAddText(long session, String text) throws TinyLlavaException;
    private static native String nativeGenerate(long session, int maxTokens, float temperature, long seed,
            TokenCallback callback) throws TinyLlavaException;
    private static native void nativeCancel(long session);
    private static native void nativeReset(long session) throws TinyLlavaException;
}
