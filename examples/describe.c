/* describe: the shortest useful program with libtinyllava. Describes an image, streaming the
 * answer.
 *
 *   cc describe.c $(pkg-config --cflags --libs --static tinyllava) -o describe
 *   ./describe MODEL IMAGE ["question"]
 *
 * MODEL is a checkpoint directory or a Hugging Face id (downloaded on first use). */
#include <stdio.h>

#include "tinyllava.h"

static int print_piece(void *user_data, const char *piece, size_t len, int32_t token_id)
{
    (void)user_data;
    (void)token_id;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0; /* nonzero would stop the answer */
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE [QUESTION]\n", argv[0]);
        return 2;
    }
    const char *question = argc > 3 ? argv[3] : "Describe this image.";
    tlv_context *ctx = NULL;
    tlv_model *model = NULL;
    tlv_session *session = NULL;
    int rc = 1;

    if (tlv_context_create(NULL, &ctx) != TLV_OK) {
        fprintf(stderr, "%s\n", tlv_context_errmsg(ctx)); /* e.g. "no Vulkan driver found ..." */
        goto out;
    }
    if (tlv_model_load(ctx, argv[1], NULL, &model) != TLV_OK) {
        fprintf(stderr, "%s\n", tlv_context_errmsg(ctx));
        goto out;
    }
    if (tlv_session_create(model, NULL, &session) != TLV_OK) {
        fprintf(stderr, "%s\n", tlv_context_errmsg(ctx));
        goto out;
    }
    if (tlv_session_add_image_file(session, argv[2]) != TLV_OK || tlv_session_add_text(session, question) != TLV_OK) {
        fprintf(stderr, "%s\n", tlv_session_errmsg(session));
        goto out;
    }
    tlv_sampling sampling;
    tlv_sampling_init(&sampling); /* greedy, as the reference evaluates */
    sampling.max_tokens = 64;
    if (tlv_session_generate(session, &sampling, print_piece, NULL, NULL) != TLV_OK) {
        fprintf(stderr, "\n%s\n", tlv_session_errmsg(session));
        goto out;
    }
    putchar('\n');
    rc = 0;
out:
    tlv_session_destroy(session);
    tlv_model_destroy(model);
    tlv_context_destroy(ctx);
    return rc;
}
