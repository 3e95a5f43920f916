/* test_cli_chat: `tinyllava chat` reading a script from stdin (not a terminal), and Ctrl-C.
 *
 *   a conversation   on the phi2_siglip_square fixture: the first answer is the reference's
 *                    (expected.json); the follow-up reuses the KV cache of the first turn
 *                    (--verbose stats: "N reused" >= the first prompt); /image adds an image
 *                    (its rows are prefilled); a bad /image and an unknown /command are
 *                    reported and the chat goes on; /reset starts over (0 reused) and the same
 *                    question gets the reference answer again; nothing after /quit is answered
 *   interrupted      SIGINT while a long answer streams: "(stopped)", the next line is answered
 *                    (with the cut answer kept as history), /quit exits 0
 *   run interrupted  SIGINT while `run` streams: exit 130 */
#include <signal.h>
#include <stdlib.h>

#include "common.h"

static char g_root[512];

#define FIX FIXTURES "/phi2_siglip_square"

static void conversation(void)
{
    cJSON *cs = ct_json_file(FIX "/case.json"), *ex = ct_json_file(FIX "/expected.json");
    if (!cs || !ex) {
        CHECK(0);
        return;
    }
    const char *question = cJSON_GetObjectItem(cs, "prompt")->valuestring;
    const char *answer = cJSON_GetObjectItem(ex, "generated_text")->valuestring;
    int seq_len = cJSON_GetObjectItem(ex, "sequence_length")->valueint;
    char script[4096];
    snprintf(script, sizeof script,
             "%s\n"
             "And what is in the sky?\n"
             "/image " FIXTURES "/phi2_siglip_pad_multiturn/image.png\n"
             "Compare the two pictures.\n"
             "/image %s/nonexistent.png\n"
             "/frobnicate\n"
             "\n"
             "/reset\n"
             "/image " FIX "/image.png\n"
             "%s\n"
             "/quit\n"
             "This line comes after /quit.\n",
             question, g_root, question);
    proc p;
    const char *args[] = {"chat", "-m", FIX "/model", "--image", FIX "/image.png", "-n", "16", "--verbose", NULL};
    CHECK_EQ_INT(proc_run(&p, args, NULL, script, 120), 0);
    ct_check_clean(&p);
    printf("stdout:\n%s", p.out.p);

    /* four answers, each followed by a newline; the first and the last are the reference's */
    char want[1024];
    snprintf(want, sizeof want, "%s\n", answer);
    CHECK(!strncmp(p.out.p, want, strlen(want)));
    CHECK(p.out.n >= strlen(want) && !strcmp(p.out.p + p.out.n - strlen(want), want));
    CHECK(!strstr(p.out.p, "> ")); /* no prompt when stdin is not a terminal */

    ct_stats st[8];
    int n = ct_parse_stats(p.err.p, st, 8);
    CHECK_EQ_INT(n, 4);
    if (n == 4) {
        /* 1: the whole prompt, the image */
        CHECK_EQ_INT(st[0].reused, 0);
        CHECK_EQ_INT(st[0].prompt_tokens, seq_len);
        CHECK_EQ_INT(st[0].image_tokens, 48);
        CHECK_EQ_INT(st[0].generated, 16);
        /* 2: the first turn comes from the cache; only the new text is prefilled */
        CHECK(st[1].reused >= (unsigned)seq_len);
        CHECK(st[1].prompt_tokens < 40);
        printf("follow-up: %u positions reused, %u prefilled\n", st[1].reused, st[1].prompt_tokens);
        /* 3: a second image joins the third user message: its 48 rows are new */
        CHECK(st[2].reused >= st[1].reused);
        CHECK(st[2].prompt_tokens >= 48);
        CHECK_EQ_INT(st[2].image_tokens, 2 * 48);
        /* 4: after /reset everything is computed again */
        CHECK_EQ_INT(st[3].reused, 0);
        CHECK_EQ_INT(st[3].prompt_tokens, seq_len);
    }
    CHECK_CONTAINS(p.err.p, "(image added)");
    CHECK_CONTAINS(p.err.p, "nonexistent.png: cannot open image");
    CHECK_CONTAINS(p.err.p, "unknown command /frobnicate");
    CHECK_CONTAINS(p.err.p, "(conversation reset)");
    proc_free(&p);

    /* end of input without /quit ends the chat normally too */
    const char *args2[] = {"chat", "-m", FIX "/model", "-n", "4", NULL};
    CHECK_EQ_INT(proc_run(&p, args2, NULL, "Hello\n", 60), 0);
    CHECK(p.out.n > 1 && p.out.p[p.out.n - 1] == '\n');
    proc_free(&p);
    CHECK_EQ_INT(proc_run(&p, args2, NULL, "", 60), 0);
    CHECK_EQ_STR(p.out.p, "");
    proc_free(&p);
    cJSON_Delete(cs);
    cJSON_Delete(ex);
}

static void interrupted_chat(void)
{
    proc p;
    /* a text-only question with a long answer; -c 320 bounds the second answer (context full) */
    const char *args[] = {"chat", "-m", FIX "/model", "-n", "2000", "-c", "320", "--verbose", NULL};
    printf("$ tinyllava chat -m phi2_siglip_square -n 2000 -c 320 --verbose, SIGINT while it answers\n");
    CHECK_EQ_INT(proc_start(&p, args, NULL), 0);
    proc_write(&p, "Tell me a very long story about a house.\n");
    int streaming = proc_wait_for(&p, 1, 20, "", 60); /* 20 bytes of the answer */
    CHECK(streaming);
    kill(p.pid, SIGINT);
    CHECK(proc_wait_for(&p, 2, 0, "(stopped)", 30));
    size_t first_len = p.out.n;
    proc_write(&p, "Now a short one.\n/quit\n");
    int rc = proc_finish(&p, 60);
    printf("  -> exit %d\nstdout:\n%s\nstderr:\n%s\n", rc, p.out.p, p.err.p);
    CHECK_EQ_INT(rc, 0);
    ct_stats st[4];
    int n = ct_parse_stats(p.err.p, st, 4);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_STR(st[0].stop, "cancelled");
        CHECK(st[0].generated < 250); /* stopped long before the context was full */
        CHECK(st[1].reused > 0);      /* the cut answer stays in the history and the cache */
        CHECK(st[1].generated > 0);
        CHECK(!strcmp(st[1].stop, "context_full") || !strcmp(st[1].stop, "eos"));
    }
    CHECK(p.out.n > first_len + 1); /* the next line was answered */
    ct_check_clean(&p);
    proc_free(&p);
}

static void interrupted_run(void)
{
    proc p;
    const char *args[] = {"run", "-m", FIX "/model", "-p", "Tell me a very long story about a house.", "-n", "2000", NULL};
    printf("$ tinyllava run -m phi2_siglip_square -p ... -n 2000, SIGINT while it answers\n");
    CHECK_EQ_INT(proc_start(&p, args, NULL), 0);
    CHECK(proc_wait_for(&p, 1, 20, "", 60));
    kill(p.pid, SIGINT);
    int rc = proc_finish(&p, 30);
    printf("  -> exit %d\n", rc);
    CHECK_EQ_INT(rc, 130);
    CHECK_CONTAINS(p.err.p, "cancelled");
    proc_free(&p);
}

int main(int argc, char **argv)
{
    if (ct_setup(argc, argv, g_root, sizeof g_root)) return 1;
    conversation();
    interrupted_chat();
    interrupted_run();
    proc_cleanup();
    return tlv_test_finish("test_cli_chat");
}
