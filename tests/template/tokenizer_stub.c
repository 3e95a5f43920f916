/* Stand-in for src/text/tokenizer.c while it does not exist yet (tests/template/CMakeLists.txt
 * adds this file only then): template.c refers to the tokenizer, the string-level tests do not
 * call it. Every function fails or returns "none". */
#include "text/tokenizer.h"

const tlv_allocator *tlv__tokenizer_allocator(const tlv_tokenizer *t) { (void)t; return NULL; }
int32_t tlv__tokenizer_bos(const tlv_tokenizer *t) { (void)t; return -1; }
tlv_status tlv__tokenizer_encode(const tlv_tokenizer *t, const char *text, size_t len, int add_special, int32_t **ids,
                                 size_t *n_ids, tlv_err *err)
{
    (void)t, (void)text, (void)len, (void)add_special;
    *ids = NULL;
    *n_ids = 0;
    return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "no tokenizer in this build");
}
tlv_status tlv__tokenizer_load(const char *dir, const tlv_allocator *alloc, tlv_tokenizer **out, tlv_err *err)
{
    (void)dir, (void)alloc;
    *out = NULL;
    return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "no tokenizer in this build");
}
void tlv__tokenizer_destroy(tlv_tokenizer *t) { (void)t; }
int tlv__tokenizer_adds_bos(const tlv_tokenizer *t) { (void)t; return 0; }
