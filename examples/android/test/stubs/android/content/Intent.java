package android.content;
public class Intent {
    public static final String ACTION_GET_CONTENT = "android.intent.action.GET_CONTENT";
    public static final String CATEGORY_OPENABLE = "android.intent.category.OPENABLE";
    public Intent(String action) {}
    public Intent setType(String type) { return this; }
    public Intent addCategory(String category) { return this; }
    public android.net.Uri getData() { return null; }
}
