/* tinyllava_jni.c: the JNI bridge between libtinyllava and org.tinyllava.TinyLlava (Java).
 *
 * Handles cross to Java as jlong: a model handle is a struct jni_model* (its context and model),
 * a session handle is the tlv_session*. Java owns their lifetime (TinyLlava.Model and
 * TinyLlava.Session close them, sessions before their model); 0 is never a valid handle.
 *
 * Strings. JNI's own UTF functions (GetStringUTFChars, NewStringUTF) speak *modified* UTF-8:
 * characters outside the BMP (emoji) are two 3-byte surrogates and NUL is C0 80, so real UTF-8
 * with a 4-byte sequence is invalid input to NewStringUTF (CheckJNI aborts the app). Every string
 * therefore crosses as bytes: Java -> C through String.getBytes("UTF-8"), C -> Java through
 * new String(byte[], "UTF-8"), which also turns any invalid byte into U+FFFD instead of failing.
 *
 * Errors become org.tinyllava.TinyLlavaException(status, message) with the library's message;
 * a Java exception raised inside a callback stops the generation and propagates unchanged.
 *
 * Logs go to logcat (tag "tinyllava") on Android, to stderr elsewhere (the bridge is also built
 * for desktop Linux, to be tested there). Every native method runs on the calling Java thread;
 * generate() calls the Java callback on that same thread, and cancel() may come from any other.
 *
 * No global state: method ids are looked up per call (generate looks them up once, not per
 * piece). Natives are registered in JNI_OnLoad, so that is the only symbol the library exports. */
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __ANDROID__
#include <android/log.h>
#endif

#include "tinyllava.h"

#define JAVA_CLASS "org/tinyllava/TinyLlava"
#define JAVA_EXCEPTION "org/tinyllava/TinyLlavaException"

struct jni_model {
    tlv_context *ctx;
    tlv_model *model;
};

/* ------------------------------------------------------------------ logging */

static void log_to_system(void *user_data, tlv_log_level level, const char *message)
{
    (void)user_data;
#ifdef __ANDROID__
    static const int prio[] = {ANDROID_LOG_ERROR, ANDROID_LOG_WARN, ANDROID_LOG_INFO, ANDROID_LOG_DEBUG};
    int p = (unsigned)level < 4 ? prio[level] : ANDROID_LOG_VERBOSE;
    __android_log_print(p, "tinyllava", "%s", message);
#else
    static const char *const names[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "tinyllava: %s: %s\n", (unsigned)level < 4 ? names[level] : "log", message);
#endif
}

/* ------------------------------------------------------------------ strings and exceptions */

/* new String(byte[], "UTF-8"): what generate() needs per piece, looked up once. */
struct utf8_decoder {
    jclass string_class;
    jmethodID ctor;
    jstring charset;
};

static int decoder_init(JNIEnv *env, struct utf8_decoder *d)
{
    memset(d, 0, sizeof *d);
    d->string_class = (*env)->FindClass(env, "java/lang/String");
    if (!d->string_class) return 0;
    d->ctor = (*env)->GetMethodID(env, d->string_class, "<init>", "([BLjava/lang/String;)V");
    if (!d->ctor) return 0;
    d->charset = (*env)->NewStringUTF(env, "UTF-8"); /* ASCII: modified UTF-8 is the same */
    return d->charset != NULL;
}

static void decoder_free(JNIEnv *env, struct utf8_decoder *d)
{
    if (d->charset) (*env)->DeleteLocalRef(env, d->charset);
    if (d->string_class) (*env)->DeleteLocalRef(env, d->string_class);
}

/* A Java String from n bytes of UTF-8 (a local reference; NULL with an exception pending). */
static jstring decode(JNIEnv *env, const struct utf8_decoder *d, const char *s, size_t n)
{
    if (n > INT32_MAX) n = INT32_MAX;
    jbyteArray bytes = (*env)->NewByteArray(env, (jsize)n);
    if (!bytes) return NULL;
    (*env)->SetByteArrayRegion(env, bytes, 0, (jsize)n, (const jbyte *)s);
    jstring out = (jstring)(*env)->NewObject(env, d->string_class, d->ctor, bytes, d->charset);
    (*env)->DeleteLocalRef(env, bytes);
    return out;
}

static jstring decode_cstr(JNIEnv *env, const char *s)
{
    struct utf8_decoder d;
    jstring out = decoder_init(env, &d) ? decode(env, &d, s ? s : "", s ? strlen(s) : 0) : NULL;
    decoder_free(env, &d);
    return out;
}

static void throw_named(JNIEnv *env, const char *class_name, const char *message)
{
    jclass c = (*env)->FindClass(env, class_name);
    if (c) (*env)->ThrowNew(env, c, message); /* our messages here are ASCII */
}

/* Throws TinyLlavaException(status, message); message is the library's UTF-8 text. */
static void throw_tlv(JNIEnv *env, tlv_status status, const char *message)
{
    if ((*env)->ExceptionCheck(env)) return; /* keep the first one */
    if (!message || !*message) message = tlv_status_string(status);
    jclass c = (*env)->FindClass(env, JAVA_EXCEPTION);
    if (!c) return;
    jmethodID ctor = (*env)->GetMethodID(env, c, "<init>", "(ILjava/lang/String;)V");
    jstring msg = ctor ? decode_cstr(env, message) : NULL;
    jthrowable ex = msg ? (jthrowable)(*env)->NewObject(env, c, ctor, (jint)status, msg) : NULL;
    if (ex) (*env)->Throw(env, ex);
}

/* The UTF-8 bytes of a Java String, NUL-terminated, malloc'ed; NULL with an exception pending.
 * A String holding U+0000 is refused: the C API takes NUL-terminated text. */
static char *encode(JNIEnv *env, jstring s, const char *what)
{
    if (!s) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s is null", what);
        throw_named(env, "java/lang/NullPointerException", msg);
        return NULL;
    }
    jclass string_class = (*env)->FindClass(env, "java/lang/String");
    if (!string_class) return NULL;
    jmethodID get_bytes = (*env)->GetMethodID(env, string_class, "getBytes", "(Ljava/lang/String;)[B");
    jstring charset = get_bytes ? (*env)->NewStringUTF(env, "UTF-8") : NULL;
    jbyteArray bytes = charset ? (jbyteArray)(*env)->CallObjectMethod(env, s, get_bytes, charset) : NULL;
    char *out = NULL;
    if (bytes && !(*env)->ExceptionCheck(env)) {
        jsize n = (*env)->GetArrayLength(env, bytes);
        out = malloc((size_t)n + 1);
        if (!out) {
            throw_named(env, "java/lang/OutOfMemoryError", "tinyllava_jni: out of memory");
        } else {
            (*env)->GetByteArrayRegion(env, bytes, 0, n, (jbyte *)out);
            out[n] = 0;
            if (memchr(out, 0, (size_t)n)) {
                char msg[96];
                snprintf(msg, sizeof msg, "%s contains a NUL character (U+0000)", what);
                throw_named(env, "java/lang/IllegalArgumentException", msg);
                free(out);
                out = NULL;
            }
        }
    }
    if (bytes) (*env)->DeleteLocalRef(env, bytes);
    if (charset) (*env)->DeleteLocalRef(env, charset);
    (*env)->DeleteLocalRef(env, string_class);
    return out;
}

static struct jni_model *model_of(JNIEnv *env, jlong h)
{
    struct jni_model *m = (struct jni_model *)(intptr_t)h;
    if (!m) throw_named(env, "java/lang/IllegalStateException", "tinyllava: the model is closed");
    return m;
}

static tlv_session *session_of(JNIEnv *env, jlong h)
{
    tlv_session *s = (tlv_session *)(intptr_t)h;
    if (!s) throw_named(env, "java/lang/IllegalStateException", "tinyllava: the session is closed");
    return s;
}

/* ------------------------------------------------------------------ version, model */

static jstring native_version(JNIEnv *env, jclass cls)
{
    (void)cls;
    return decode_cstr(env, tlv_build_info());
}

/* cache_dir: the app's cache folder (pipeline cache); device: NULL/"" = the default choice. */
static jlong native_model_load(JNIEnv *env, jclass cls, jstring jpath, jstring jcache_dir, jstring jdevice,
                               jint log_level)
{
    (void)cls;
    char *path = encode(env, jpath, "path");
    char *cache_dir = path && jcache_dir ? encode(env, jcache_dir, "cacheDir") : NULL;
    char *device = path && jdevice ? encode(env, jdevice, "device") : NULL;
    struct jni_model *m = NULL;
    if ((*env)->ExceptionCheck(env)) goto out;
    m = calloc(1, sizeof *m);
    if (!m) {
        throw_named(env, "java/lang/OutOfMemoryError", "tinyllava_jni: out of memory");
        goto out;
    }
    tlv_context_options co;
    tlv_context_options_init(&co);
    co.log = log_to_system;
    co.log_level = (tlv_log_level)(log_level < TLV_LOG_ERROR ? TLV_LOG_ERROR : log_level > TLV_LOG_DEBUG ? TLV_LOG_DEBUG : log_level);
    co.cache_dir = cache_dir;
    co.device = device;
    tlv_status st = tlv_context_create(&co, &m->ctx);
    if (st == TLV_OK) {
        tlv_model_options mo;
        tlv_model_options_init(&mo);
        mo.offline = 1; /* downloading is the app's job (docs/ANDROID.md) */
        st = tlv_model_load(m->ctx, path, &mo, &m->model);
    }
    if (st != TLV_OK) {
        throw_tlv(env, st, m->ctx ? tlv_context_errmsg(m->ctx) : NULL);
        tlv_model_destroy(m->model);
        tlv_context_destroy(m->ctx);
        free(m);
        m = NULL;
    }
out:
    free(path);
    free(cache_dir);
    free(device);
    return (jlong)(intptr_t)m;
}

static void native_model_destroy(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    struct jni_model *m = (struct jni_model *)(intptr_t)h;
    if (!m) return;
    tlv_model_destroy(m->model);
    tlv_context_destroy(m->ctx);
    free(m);
}

/* "llm_arch=qwen2 vision_arch=siglip ..." for display and logs. */
static jstring native_model_describe(JNIEnv *env, jclass cls, jlong h)
{
    (void)cls;
    struct jni_model *m = model_of(env, h);
    if (!m) return NULL;
    tlv_model_info i;
    tlv_status st = tlv_model_get_info(m->model, &i);
    if (st != TLV_OK) {
        throw_tlv(env, st, tlv_context_errmsg(m->ctx));
        return NULL;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s + %s (%s), %u layers, hidden %u, %llu parameters, %s, template %s, context %u",
             i.llm_arch, i.vision_arch, i.generation, i.n_layer, i.hidden, (unsigned long long)i.n_params,
             i.weight_dtype, i.chat_template, i.max_context);
    return decode_cstr(env, buf);
}

/* The token ids of text (add_special: BOS where the tokenizer adds one). */
static jintArray native_model_tokenize(JNIEnv *env, jclass cls, jlong h, jstring jtext, jboolean add_special)
{
    (void)cls;
    struct jni_model *m = model_of(env, h);
    char *text = m ? encode(env, jtext, "text") : NULL;
    if (!text) return NULL;
    /* Most texts fit the stack buffer: one call; a longer one is tokenized again into the heap. */
    int32_t small[256], *ids = small;
    size_t n = 0;
    jintArray out = NULL;
    tlv_status st = tlv_model_tokenize(m->model, text, add_special, small, sizeof small / sizeof small[0], &n);
    if (st == TLV_OK && n > INT32_MAX) st = TLV_ERR_LIMIT;
    if (st == TLV_OK && n > sizeof small / sizeof small[0]) {
        if (!(ids = malloc(n * sizeof *ids))) st = TLV_ERR_NO_MEMORY;
        else st = tlv_model_tokenize(m->model, text, add_special, ids, n, &n);
    }
    if (st != TLV_OK) {
        throw_tlv(env, st, tlv_context_errmsg(m->ctx));
    } else if ((out = (*env)->NewIntArray(env, (jsize)n)) != NULL) {
        (*env)->SetIntArrayRegion(env, out, 0, (jsize)n, (const jint *)ids);
    }
    if (ids != small) free(ids);
    free(text);
    return out;
}

/* ------------------------------------------------------------------ sessions */

static jlong native_session_create(JNIEnv *env, jclass cls, jlong model, jint n_ctx)
{
    (void)cls;
    struct jni_model *m = model_of(env, model);
    if (!m) return 0;
    tlv_session_options o;
    memset(&o, 0, sizeof o);
    o.n_ctx = n_ctx > 0 ? (uint32_t)n_ctx : 0;
    tlv_session *s = NULL;
    tlv_status st = tlv_session_create(m->model, &o, &s);
    if (st != TLV_OK) {
        /* a failed create returns no session: the reason is on the context */
        throw_tlv(env, st, s ? tlv_session_errmsg(s) : tlv_context_errmsg(m->ctx));
        tlv_session_destroy(s);
        return 0;
    }
    return (jlong)(intptr_t)s;
}

static void native_session_destroy(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    tlv_session_destroy((tlv_session *)(intptr_t)h);
}

static void check(JNIEnv *env, tlv_session *s, tlv_status st)
{
    if (st != TLV_OK) throw_tlv(env, st, tlv_session_errmsg(s));
}

static void native_add_image_file(JNIEnv *env, jclass cls, jlong h, jstring jpath)
{
    (void)cls;
    tlv_session *s = session_of(env, h);
    char *path = s ? encode(env, jpath, "path") : NULL;
    if (!path) return;
    check(env, s, tlv_session_add_image_file(s, path));
    free(path);
}

/* width x height pixels, RGB8 (3 bytes a pixel) or ARGB (Android's Bitmap.getPixels: one int
 * 0xAARRGGBB a pixel, alpha ignored), row-major without padding. */
static int image_size_ok(JNIEnv *env, jint width, jint height, jsize have, uint64_t per_pixel_elems)
{
    if (width <= 0 || height <= 0) {
        throw_named(env, "java/lang/IllegalArgumentException", "tinyllava: image width and height must be positive");
        return 0;
    }
    if ((uint64_t)width * (uint64_t)height * per_pixel_elems > (uint64_t)have) {
        char msg[160];
        snprintf(msg, sizeof msg, "tinyllava: a %dx%d image needs %llu array elements, the array has %d", (int)width,
                 (int)height, (unsigned long long)((uint64_t)width * (uint64_t)height * per_pixel_elems), (int)have);
        throw_named(env, "java/lang/IllegalArgumentException", msg);
        return 0;
    }
    return 1;
}

static void native_add_image_rgb(JNIEnv *env, jclass cls, jlong h, jbyteArray rgb, jint width, jint height)
{
    (void)cls;
    tlv_session *s = session_of(env, h);
    if (!s) return;
    if (!rgb) {
        throw_named(env, "java/lang/NullPointerException", "rgb is null");
        return;
    }
    if (!image_size_ok(env, width, height, (*env)->GetArrayLength(env, rgb), 3)) return;
    jbyte *p = (*env)->GetByteArrayElements(env, rgb, NULL);
    if (!p) return;
    tlv_status st = tlv_session_add_image_rgb(s, (const uint8_t *)p, (uint32_t)width, (uint32_t)height, (size_t)width * 3);
    (*env)->ReleaseByteArrayElements(env, rgb, p, JNI_ABORT); /* copied by the library */
    check(env, s, st);
}

static void native_add_image_argb(JNIEnv *env, jclass cls, jlong h, jintArray argb, jint width, jint height)
{
    (void)cls;
    tlv_session *s = session_of(env, h);
    if (!s) return;
    if (!argb) {
        throw_named(env, "java/lang/NullPointerException", "argb is null");
        return;
    }
    if (!image_size_ok(env, width, height, (*env)->GetArrayLength(env, argb), 1)) return;
    size_t n = (size_t)width * (size_t)height;
    uint8_t *rgb = malloc(n * 3);
    if (!rgb) {
        throw_named(env, "java/lang/OutOfMemoryError", "tinyllava_jni: out of memory for the image");
        return;
    }
    jint *p = (*env)->GetIntArrayElements(env, argb, NULL);
    if (!p) {
        free(rgb);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)p[i];
        rgb[3 * i] = (uint8_t)(v >> 16);
        rgb[3 * i + 1] = (uint8_t)(v >> 8);
        rgb[3 * i + 2] = (uint8_t)v;
    }
    (*env)->ReleaseIntArrayElements(env, argb, p, JNI_ABORT);
    check(env, s, tlv_session_add_image_rgb(s, rgb, (uint32_t)width, (uint32_t)height, (size_t)width * 3));
    free(rgb);
}

static void native_add_text(JNIEnv *env, jclass cls, jlong h, jstring jtext)
{
    (void)cls;
    tlv_session *s = session_of(env, h);
    char *text = s ? encode(env, jtext, "text") : NULL;
    if (!text) return;
    check(env, s, tlv_session_add_text(s, text));
    free(text);
}

/* What the piece callback needs: the Java callback and how to make Strings. */
struct generate_call {
    JNIEnv *env;
    jobject callback;     /* org.tinyllava.TinyLlava.TokenCallback, or NULL */
    jmethodID on_piece;   /* boolean onPiece(String) */
    struct utf8_decoder dec;
    int java_failed;      /* a Java exception is pending: stop */
};

static int on_piece(void *user_data, const char *piece, size_t len, int32_t token_id)
{
    (void)token_id;
    struct generate_call *g = user_data;
    JNIEnv *env = g->env;
    if (g->java_failed) return 1;
    jstring s = decode(env, &g->dec, piece, len);
    jboolean go = JNI_FALSE;
    if (s) go = (*env)->CallBooleanMethod(env, g->callback, g->on_piece, s);
    if (s) (*env)->DeleteLocalRef(env, s); /* one local reference a piece would overflow the table */
    if ((*env)->ExceptionCheck(env)) {
        g->java_failed = 1;
        return 1;
    }
    return go ? 0 : 1;
}

/* Generates the answer, streaming it to callback (may be null). Returns the stop reason ("eos",
 * "max_tokens", "callback", "cancelled", ...); a cancel() is a normal return, not an exception. */
static jstring native_generate(JNIEnv *env, jclass cls, jlong h, jint max_tokens, jfloat temperature, jlong seed,
                               jobject callback)
{
    (void)cls;
    tlv_session *s = session_of(env, h);
    if (!s) return NULL;
    struct generate_call g;
    memset(&g, 0, sizeof g);
    g.env = env;
    g.callback = callback;
    if (!decoder_init(env, &g.dec)) goto out;
    if (callback) {
        jclass cb_class = (*env)->GetObjectClass(env, callback);
        g.on_piece = (*env)->GetMethodID(env, cb_class, "onPiece", "(Ljava/lang/String;)Z");
        (*env)->DeleteLocalRef(env, cb_class);
        if (!g.on_piece) goto out;
    }
    tlv_sampling p;
    tlv_sampling_init(&p);
    p.max_tokens = max_tokens > 0 ? max_tokens : 0;
    p.temperature = temperature > 0 ? temperature : 0;
    p.seed = (uint64_t)seed;
    tlv_generate_stats stats;
    memset(&stats, 0, sizeof stats);
    tlv_status st = tlv_session_generate(s, &p, callback ? on_piece : NULL, &g, &stats);
    if (g.java_failed) goto out; /* the callback's exception propagates */
    const char *reason = st == TLV_ERR_CANCELLED ? "cancelled" : stats.stop_reason;
    if (st != TLV_OK && st != TLV_ERR_CANCELLED) {
        throw_tlv(env, st, tlv_session_errmsg(s));
        goto out;
    }
    decoder_free(env, &g.dec);
    return decode_cstr(env, reason ? reason : "");
out:
    decoder_free(env, &g.dec);
    return NULL;
}

/* From any thread, while generate runs on another one. */
static void native_cancel(JNIEnv *env, jclass cls, jlong h)
{
    (void)env;
    (void)cls;
    tlv_session *s = (tlv_session *)(intptr_t)h;
    if (s) tlv_session_cancel(s);
}

static void native_reset(JNIEnv *env, jclass cls, jlong h)
{
    (void)cls;
    tlv_session *s = session_of(env, h);
    if (s) check(env, s, tlv_session_reset(s));
}

/* ------------------------------------------------------------------ registration */

static const JNINativeMethod k_methods[] = {
    {"nativeVersion", "()Ljava/lang/String;", (void *)native_version},
    {"nativeModelLoad", "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;I)J", (void *)native_model_load},
    {"nativeModelDestroy", "(J)V", (void *)native_model_destroy},
    {"nativeModelDescribe", "(J)Ljava/lang/String;", (void *)native_model_describe},
    {"nativeModelTokenize", "(JLjava/lang/String;Z)[I", (void *)native_model_tokenize},
    {"nativeSessionCreate", "(JI)J", (void *)native_session_create},
    {"nativeSessionDestroy", "(J)V", (void *)native_session_destroy},
    {"nativeAddImageFile", "(JLjava/lang/String;)V", (void *)native_add_image_file},
    {"nativeAddImageRgb", "(J[BII)V", (void *)native_add_image_rgb},
    {"nativeAddImageArgb", "(J[III)V", (void *)native_add_image_argb},
    {"nativeAddText", "(JLjava/lang/String;)V", (void *)native_add_text},
    {"nativeGenerate", "(JIFJLorg/tinyllava/TinyLlava$TokenCallback;)Ljava/lang/String;", (void *)native_generate},
    {"nativeCancel", "(J)V", (void *)native_cancel},
    {"nativeReset", "(J)V", (void *)native_reset},
};

JNIEXPORT jint JNI_OnLoad(JavaVM *vm, void *reserved)
{
    (void)reserved;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK) return JNI_ERR;
    jclass c = (*env)->FindClass(env, JAVA_CLASS);
    if (!c) return JNI_ERR;
    jint rc = (*env)->RegisterNatives(env, c, k_methods, (jint)(sizeof k_methods / sizeof k_methods[0]));
    (*env)->DeleteLocalRef(env, c);
    return rc == 0 ? JNI_VERSION_1_6 : JNI_ERR;
}
