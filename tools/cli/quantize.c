/* quantize.c: `tinyllava quantize SRC DST --weights q8_0|q4_0 [--vision-weights q8_0|q4_0]`, through
 * tlv_model_quantize: no Vulkan device needed (the context is made with no_vulkan). SRC is a
 * checkpoint folder or a Hugging Face id (-m works too); DST a folder that then loads with -m DST. */
#include <stdio.h>

#include "cli.h"

int cli_quantize(const cli_opts *o)
{
    const char *src = o->n_positional >= 2 ? o->positional[0] : o->model_given ? o->model : NULL;
    const char *dst = o->n_positional >= 2 ? o->positional[1] : o->n_positional == 1 && o->model_given ? o->positional[0] : NULL;
    if (!src || !dst || o->n_positional > 2) {
        fprintf(stderr, "tinyllava: usage: tinyllava quantize SRC DST --weights q8_0|q4_0 [--vision-weights q8_0|q4_0]\n");
        return 2;
    }
    if (!o->weights && !o->vision_weights) {
        fprintf(stderr, "tinyllava: quantize needs --weights q8_0|q4_0 (and/or --vision-weights q8_0|q4_0)\n");
        return 2;
    }
    tlv_context *ctx = NULL;
    tlv_status st = cli_open_no_vulkan(o, &ctx);
    if (!st) {
        tlv_model_options mo;
        tlv_model_options_init(&mo);
        mo.progress = cli_progress;
        mo.offline = o->offline;
        mo.weights = o->weights;
        mo.vision_weights = o->vision_weights;
        if ((st = tlv_model_quantize(ctx, src, dst, &mo))) fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(ctx));
        else printf("%s\n", dst);
    }
    tlv_context_destroy(ctx);
    return cli_exit_code(st);
}
