package org.tinyllava.sample;

import android.app.Activity;
import android.content.Intent;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.net.Uri;
import android.os.Bundle;
import android.widget.Button;
import android.widget.EditText;
import android.widget.ImageView;
import android.widget.ScrollView;
import android.widget.TextView;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.tinyllava.TinyLlava;
import org.tinyllava.TinyLlavaException;

/**
 * Pick an image, ask about it, watch the answer stream in; ask again to go on with the chat.
 *
 * The model is a checkpoint folder already on the device (the app downloads nothing), by default
 * getExternalFilesDir()/model, where `adb push` can put it (README.md). Every library call runs on
 * one worker thread; the UI thread only calls Session.cancel() (the Stop button).
 */
public class MainActivity extends Activity {
    private static final int PICK_IMAGE = 1;
    /** The model scales images to its own size (384 px or so): a larger bitmap only costs memory. */
    private static final int MAX_SIDE = 1536;

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private TinyLlava.Model model;               // worker thread only
    private volatile TinyLlava.Session session;  // used on the worker; cancel() from the UI thread
    private Bitmap pendingImage;                 // picked, goes with the next question (worker thread)

    private EditText modelPath, question;
    private TextView status, answer;
    private ImageView imageView;
    private ScrollView scroll;
    private Button ask, stop;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        modelPath = findViewById(R.id.model_path);
        question = findViewById(R.id.question);
        status = findViewById(R.id.status);
        answer = findViewById(R.id.answer);
        imageView = findViewById(R.id.image);
        scroll = findViewById(R.id.scroll);
        ask = findViewById(R.id.ask);
        stop = findViewById(R.id.stop);

        File external = getExternalFilesDir(null);
        modelPath.setText(new File(external != null ? external : getFilesDir(), "model").getPath());
        status.setText(TinyLlava.version());

        findViewById(R.id.load).setOnClickListener(v -> loadModel(modelPath.getText().toString()));
        findViewById(R.id.pick).setOnClickListener(v -> {
            Intent pick = new Intent(Intent.ACTION_GET_CONTENT).setType("image/*").addCategory(Intent.CATEGORY_OPENABLE);
            startActivityForResult(pick, PICK_IMAGE);
        });
        findViewById(R.id.new_chat).setOnClickListener(v -> newChat());
        ask.setOnClickListener(v -> ask(question.getText().toString()));
        stop.setOnClickListener(v -> {
            TinyLlava.Session s = session;
            if (s != null) s.cancel();
        });
    }

    private void loadModel(String path) {
        status.setText("loading " + path + " ...");
        worker.execute(() -> {
            closeModel();
            try {
                model = TinyLlava.Model.load(path, getCacheDir().getPath());
                session = model.newSession();
                String info = model.describe();
                runOnUiThread(() -> status.setText(info));
            } catch (TinyLlavaException e) {
                closeModel();
                runOnUiThread(() -> status.setText("cannot load the model: " + e.getMessage()));
            }
        });
    }

    @Override
    protected void onActivityResult(int requestCode, int resultCode, Intent data) {
        super.onActivityResult(requestCode, resultCode, data);
        if (requestCode != PICK_IMAGE || resultCode != RESULT_OK || data == null || data.getData() == null) return;
        Uri uri = data.getData();
        worker.execute(() -> {
            try {
                Bitmap b = decode(uri);
                pendingImage = b;
                runOnUiThread(() -> imageView.setImageBitmap(b));
            } catch (IOException e) {
                runOnUiThread(() -> status.setText("cannot read the image: " + e.getMessage()));
            }
        });
    }

    /** The picked image as ARGB_8888, halved until its longer side is at most MAX_SIDE. */
    private Bitmap decode(Uri uri) throws IOException {
        BitmapFactory.Options o = new BitmapFactory.Options();
        o.inJustDecodeBounds = true;
        try (InputStream in = getContentResolver().openInputStream(uri)) {
            BitmapFactory.decodeStream(in, null, o);
        }
        int sample = 1;
        while (Math.max(o.outWidth, o.outHeight) / sample > MAX_SIDE) sample *= 2;
        BitmapFactory.Options d = new BitmapFactory.Options();
        d.inSampleSize = sample;
        d.inPreferredConfig = Bitmap.Config.ARGB_8888;
        try (InputStream in = getContentResolver().openInputStream(uri)) {
            Bitmap b = BitmapFactory.decodeStream(in, null, d);
            if (b == null) throw new IOException("not an image BitmapFactory can decode");
            return b;
        }
    }

    private void ask(String text) {
        if (text.trim().isEmpty()) return;
        question.setText("");
        answer.append((answer.length() > 0 ? "\n\n" : "") + "> " + text + "\n");
        ask.setEnabled(false);
        stop.setEnabled(true);
        worker.execute(() -> {
            TinyLlava.Session s = session;
            String end;
            try {
                if (s == null) throw new IllegalStateException("load a model first");
                Bitmap b = pendingImage;
                pendingImage = null;
                if (b != null) {
                    int w = b.getWidth(), h = b.getHeight();
                    int[] argb = new int[w * h];
                    b.getPixels(argb, 0, w, 0, 0, w, h);
                    s.addImage(argb, w, h);
                }
                s.addText(text);
                long t0 = System.nanoTime();
                s.generate(512, 0f, piece -> {
                    runOnUiThread(() -> {
                        answer.append(piece);
                        scroll.post(() -> scroll.fullScroll(ScrollView.FOCUS_DOWN));
                    });
                    return true;
                });
                end = String.format("%s, %.1f s", s.lastStopReason(), (System.nanoTime() - t0) / 1e9);
            } catch (TinyLlavaException | IllegalStateException e) {
                end = "error: " + e.getMessage();
            }
            String line = end;
            runOnUiThread(() -> {
                status.setText(line);
                ask.setEnabled(true);
                stop.setEnabled(false);
            });
        });
    }

    private void newChat() {
        answer.setText("");
        worker.execute(() -> {
            TinyLlava.Session s = session;
            try {
                if (s != null) s.reset();
            } catch (TinyLlavaException e) {
                runOnUiThread(() -> status.setText("reset: " + e.getMessage()));
            }
        });
    }

    /** Worker thread. */
    private void closeModel() {
        TinyLlava.Session s = session;
        session = null;
        if (s != null) s.close();
        if (model != null) model.close();
        model = null;
    }

    @Override
    protected void onDestroy() {
        TinyLlava.Session s = session;
        if (s != null) s.cancel(); // a running generate ends soon; then the worker frees everything
        worker.execute(this::closeModel);
        worker.shutdown();
        super.onDestroy();
    }
}
