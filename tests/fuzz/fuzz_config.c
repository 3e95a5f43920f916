/* fuzz_config: config.json and preprocessor_config.json (src/formats/config.c, config_nets.c),
 * all three checkpoint generations (Factory, legacy TinyLLaVABench, HF llava), then what the
 * runtime derives from a parsed config: the image parameters (src/image/params.c) and the chat
 * template (src/text/template.c).
 *
 * Input: files in the "#tlv-fuzz <name>" form (fuzz_common.h): config.json,
 * preprocessor_config.json, generation_config.json. Input without a header is config.json. */
#include "fuzz_common.h"

#include "formats/config.h"
#include "image/image.h"
#include "text/template.h"

static const char *const known[] = {"config.json", "preprocessor_config.json", "generation_config.json"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *dir = fuzz_scratch();
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) fuzz_remove(known[k]);
    fuzz_file f[3];
    size_t nf = fuzz_split(data, n, known, 3, f, 3);
    if (!nf) fuzz_write("config.json", data, n);
    for (size_t i = 0; i < nf; i++) fuzz_write(f[i].name, f[i].data, f[i].n);

    tlv_model_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) abort();
    tlv_err err = {0};
    tlv_status st = tlv__config_load(dir, cfg, &err);
    fuzz_report("config", st, err.msg);
    if (st != TLV_OK) {
        FUZZ_EXPECT(err.status == st && err.msg[0]);
    } else {
        tlv_image_params p;
        st = tlv__image_params_from_config(cfg, &p, &err);
        fuzz_report("image params", st, err.msg);
        FUZZ_EXPECT(st == TLV_OK || (err.status == st && err.msg[0]));
        const tlv_chat_template *t = NULL;
        st = tlv__template_for_config(cfg, NULL, &t, &err);
        fuzz_report("template", st, err.msg);
        FUZZ_EXPECT(st == TLV_OK ? t != NULL : (err.status == st && err.msg[0]));
        (void)tlv__generation_name(cfg->generation);
        (void)tlv__llm_arch_name(cfg->llm.arch);
    }
    free(cfg);
    return 0;
}
