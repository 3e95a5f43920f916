import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import javax.imageio.ImageIO;

import org.tinyllava.TinyLlava;
import org.tinyllava.TinyLlavaException;

/**
 * The JNI bridge end to end on a desktop JVM (tools/cross/jni_host_check.sh builds and runs it):
 * a reference case of tests/fixtures, whose expected answer comes from the reference
 * implementation (transformers), through the Java API: image as a file, as ARGB ints and as RGB
 * bytes; streaming, stop from the callback, cancel from another thread, reset, errors.
 *
 *   java -Djava.library.path=BUILD -cp CLASSES JniSmoke MODEL_DIR IMAGE PROMPT_FILE EXPECTED_FILE
 *        TOKENIZE_TEXT_FILE TOKENIZE_IDS LONG_IDS
 * PROMPT_FILE, EXPECTED_FILE, TOKENIZE_TEXT_FILE: UTF-8 text; TOKENIZE_IDS: the ids the C CLI
 * gives for that text, comma-separated (checks the Java -> UTF-8 conversion, emoji included);
 * LONG_IDS: the CLI's ids for 40 lines of that text (more ids than the bridge's stack buffer).
 */
public final class JniSmoke {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "ok    " : "FAIL  ") + what);
        if (!ok) failures++;
    }

    private static String read(String path) throws Exception {
        return new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8);
    }

    private interface Body {
        void run() throws Exception;
    }

    private static void expectThrows(Class<?> type, String what, Body body) {
        try {
            body.run();
            check(false, what + ": no exception");
        } catch (Throwable t) {
            check(type.isInstance(t) && t.getMessage() != null && !t.getMessage().isEmpty(),
                  what + ": " + t.getClass().getSimpleName() + ": " + t.getMessage());
        }
    }

    public static void main(String[] args) throws Exception {
        String modelDir = args[0], image = args[1];
        String prompt = read(args[2]), expected = read(args[3]), tokText = read(args[4]);
        int[] tokIds = Arrays.stream(args[5].split(",")).mapToInt(Integer::parseInt).toArray();
        int[] longIds = Arrays.stream(args[6].split(",")).mapToInt(Integer::parseInt).toArray();
        System.out.println("version: " + TinyLlava.version());

        expectThrows(TinyLlavaException.class, "load of a missing folder",
                     () -> TinyLlava.Model.load("/nonexistent/model", null).close());

        try (TinyLlava.Model model = TinyLlava.Model.load(modelDir, null)) {
            System.out.println("model: " + model.describe());
            check(Arrays.equals(model.tokenize(tokText, false), tokIds),
                  "tokenize(\"" + tokText + "\") = " + Arrays.toString(model.tokenize(tokText, false)) + " (CLI: " +
                  Arrays.toString(tokIds) + ")");
            StringBuilder longText = new StringBuilder();
            for (int i = 0; i < 40; i++) longText.append(tokText).append('\n');
            int[] longGot = model.tokenize(longText.toString(), false);
            check(longGot.length > 256 && Arrays.equals(longGot, longIds),
                  "tokenize(40 lines of it) = " + longGot.length + " ids, as the CLI's " + longIds.length);

            BufferedImage img = ImageIO.read(new File(image));
            int w = img.getWidth(), h = img.getHeight();
            int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
            byte[] rgb = new byte[w * h * 3];
            for (int i = 0; i < w * h; i++) {
                rgb[3 * i] = (byte) (argb[i] >> 16);
                rgb[3 * i + 1] = (byte) (argb[i] >> 8);
                rgb[3 * i + 2] = (byte) argb[i];
            }

            try (TinyLlava.Session s = model.newSession()) {
                // 1. image file, streamed pieces
                List<String> pieces = new ArrayList<>();
                s.addImageFile(image);
                s.addText(prompt);
                String answer = s.generate(16, 0f, p -> pieces.add(p));
                check(answer.equals(expected), "answer (image file) = \"" + answer + "\" (reference: \"" + expected + "\")");
                check(String.join("", pieces).equals(answer) && pieces.size() > 1,
                      pieces.size() + " pieces, joined = the answer");
                check("max_tokens".equals(s.lastStopReason()), "stop reason " + s.lastStopReason());

                // 2. the same image as ARGB ints (Bitmap.getPixels layout), then as RGB bytes
                s.reset();
                s.addImage(argb, w, h);
                s.addText(prompt);
                String a2 = s.generate(16, 0f, null);
                check(a2.equals(expected), "answer (ARGB pixels) = the reference");
                s.reset();
                s.addImageRgb(rgb, w, h);
                s.addText(prompt);
                check(s.generate(16, 0f, null).equals(expected), "answer (RGB bytes) = the reference");

                // 3. the callback stops after its first piece
                s.reset();
                s.addImageFile(image);
                s.addText(prompt);
                List<String> one = new ArrayList<>();
                s.generate(16, 0f, p -> { one.add(p); return false; });
                check(one.size() == 1 && "callback".equals(s.lastStopReason()),
                      "callback returning false: " + one.size() + " piece, stop reason " + s.lastStopReason());

                // 4. an exception in the callback ends generate and comes out of it
                s.reset();
                s.addImageFile(image);
                s.addText(prompt);
                expectThrows(IllegalStateException.class, "exception thrown by the callback",
                             () -> s.generate(16, 0f, p -> { throw new IllegalStateException("from the callback"); }));

                // 5. cancel from another thread, once the first piece has come
                s.reset();
                s.addImageFile(image);
                s.addText(prompt);
                CountDownLatch first = new CountDownLatch(1), cancelled = new CountDownLatch(1);
                AtomicReference<Throwable> worker = new AtomicReference<>();
                List<String> got = new ArrayList<>();
                Thread t = new Thread(() -> {
                    try {
                        s.generate(0, 0f, p -> {
                            got.add(p);
                            first.countDown();
                            if (got.size() == 1) {
                                try { cancelled.await(); } catch (InterruptedException e) { return false; }
                            }
                            return true;
                        });
                    } catch (Throwable e) {
                        worker.set(e);
                    }
                });
                t.start();
                first.await();
                s.cancel();   // not synchronized: runs while generate holds the session
                cancelled.countDown();
                t.join();
                check(worker.get() == null && "cancelled".equals(s.lastStopReason()) && got.size() < 16,
                      "cancel from another thread: stop reason " + s.lastStopReason() + " after " + got.size() +
                      " pieces" + (worker.get() != null ? ", " + worker.get() : ""));

                // 6. after a cancel the session still works
                s.reset();
                s.addImageFile(image);
                s.addText(prompt);
                check(s.generate(16, 0f, null).equals(expected), "after cancel and reset: the reference answer");

                // 7. bad input
                expectThrows(TinyLlavaException.class, "missing image file", () -> s.addImageFile("/nonexistent.png"));
                expectThrows(IllegalArgumentException.class, "ARGB array too small", () -> s.addImage(new int[10], 4, 4));
                expectThrows(IllegalArgumentException.class, "zero width", () -> s.addImageRgb(new byte[3], 0, 1));
                expectThrows(NullPointerException.class, "null text", () -> s.addText(null));
                expectThrows(IllegalArgumentException.class, "text with U+0000", () -> s.addText("a\u0000b"));
                expectThrows(IllegalStateException.class, "closing the model while a session is open", model::close);
            }
        }
        System.out.println(failures == 0 ? "JniSmoke: all passed" : "JniSmoke: " + failures + " FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }
}
