package org.tinyllava.sample;
// What the Android build generates from res/ (ids of res/layout/activity_main.xml).
public final class R {
    public static final class layout { public static final int activity_main = 1; }
    public static final class id {
        public static final int model_path = 2, load = 3, status = 4, image = 5, pick = 6, new_chat = 7,
                question = 8, ask = 9, stop = 10, scroll = 11, answer = 12;
    }
}
