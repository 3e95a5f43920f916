/* textdata.h: tokenizer folders for the tests, assembled in a temporary directory from the
 * committed data (tests/text/data: gzip'ed vocabularies, each stored once, plus the config files
 * of each checkpoint):
 *   ROOT/gpt2          vocab.json merges.txt                       (GPT2Tokenizer defaults)
 *   ROOT/phi2          the same + phi-2's tokenizer_config.json, special_tokens_map.json,
 *                      added_tokens.json (fixture phi2_siglip_*)
 *   ROOT/phi2_strip    phi2 with <|endoftext|> lstrip + rstrip, "    " single_word
 *   ROOT/qwen2         Qwen2.5 vocab.json merges.txt + the qwen2 fixture's config files
 *   ROOT/qwen2_bare    Qwen2.5 vocab.json merges.txt only (recognised by its vocabulary)
 *   ROOT/llama         Llama-2 tokenizer.model + the llama fixture's configs (legacy=false)
 *   ROOT/llama_legacy  tokenizer.model only (LlamaTokenizer defaults: legacy=True)
 *   ROOT/llama_json    a llama-style tokenizer.json of the same model (gen_spm_refs.py) + the
 *                      llama fixture's configs */
#ifndef TLV_TESTS_TEXT_TEXTDATA_H
#define TLV_TESTS_TEXT_TEXTDATA_H

#include <stddef.h>

/* Fills root (a new mkdtemp folder) and builds the folders above; returns 0 on success. */
int textdata_setup(char *root, size_t root_size);
/* Removes everything textdata_setup and textdata_write created. */
void textdata_cleanup(const char *root);
/* Writes a file (creating its folder under root if needed); returns 0 on success. */
int textdata_write(const char *path, const void *data, size_t n);
int textdata_mkdir(const char *path);
/* Reads tests/text/data/<rel>, gunzipping when rel ends in .gz; malloc'ed, NUL-terminated. */
char *textdata_read(const char *rel, size_t *n);

#endif
