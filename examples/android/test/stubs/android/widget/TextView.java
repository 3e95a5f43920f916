package android.widget;
public class TextView extends android.view.View {
    public void setText(CharSequence text) {}
    public CharSequence getText() { return ""; }
    public void append(CharSequence text) {}
    public int length() { return 0; }
}
