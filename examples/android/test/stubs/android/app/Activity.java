package android.app;
public class Activity {
    public static final int RESULT_OK = -1;
    protected void onCreate(android.os.Bundle savedInstanceState) {}
    protected void onDestroy() {}
    protected void onActivityResult(int requestCode, int resultCode, android.content.Intent data) {}
    public void setContentView(int layoutResID) {}
    public <T extends android.view.View> T findViewById(int id) { return null; }
    public void startActivityForResult(android.content.Intent intent, int requestCode) {}
    public final void runOnUiThread(Runnable action) {}
    public java.io.File getExternalFilesDir(String type) { return null; }
    public java.io.File getFilesDir() { return null; }
    public java.io.File getCacheDir() { return null; }
    public android.content.ContentResolver getContentResolver() { return null; }
}
