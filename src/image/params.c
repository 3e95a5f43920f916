/* params.c: a checkpoint's config (formats/config.h) -> tlv_image_params (MODELS.md 3.1).
 * The engine's only link between the two layers; everything the reference could do that the
 * preprocessing here does not is refused with TLV_ERR_UNSUPPORTED and the setting's name. */
#include "image/image.h"

#include <math.h>

#include "formats/config.h"

tlv_status tlv__image_params_from_config(const struct tlv_model_config *cfg, tlv_image_params *p,
                                         tlv_err *err)
{
    if (!cfg || !p)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image params: NULL %s", cfg ? "output" : "config");
    const struct tlv_preprocess_config *pp = &cfg->preprocess;
    const int S = cfg->vision.image_size;
    *p = (tlv_image_params){ .size = S };
    p->aspect = cfg->aspect == TLV_ASPECT_PAD ? TLV_IMAGE_ASPECT_PAD : TLV_IMAGE_ASPECT_SQUARE;
    if (S <= 0)
        return tlv__err_set(err, TLV_ERR_FORMAT, "image params: vision image_size %d, expected > 0", S);
    if (!pp->do_resize)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "preprocessor: do_resize false is not supported");
    if (pp->resample != 3)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "preprocessor: resample %d, only 3 (PIL bicubic) "
                            "is supported", (int)pp->resample);
    /* transformers multiplies by rescale_factor; ours is fixed at 1/255 (its float32 table). */
    double rf = pp->do_rescale ? pp->rescale_factor : 1.0;
    if (fabs(rf - 1.0 / 255.0) > 1e-12)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "preprocessor: rescale %s with factor %g, only "
                            "1/255 is supported", pp->do_rescale ? "on" : "off", rf);
    if (pp->resize == TLV_RESIZE_EXACT) {
        if (pp->resize_h != pp->resize_w)
            return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "preprocessor: size %dx%d (w x h), only a "
                                "square resize is supported", (int)pp->resize_w, (int)pp->resize_h);
        p->resize = TLV_IMAGE_RESIZE_EXACT;
        p->resize_to = pp->resize_h;
    } else {
        p->resize = TLV_IMAGE_RESIZE_SHORTEST_EDGE;
        p->resize_to = pp->shortest_edge;
    }
    /* The crop is S x S: without do_center_crop the resize must already give S x S. */
    int crop_w = pp->do_center_crop ? pp->crop_w : p->resize_to;
    int crop_h = pp->do_center_crop ? pp->crop_h : p->resize_to;
    if (p->resize == TLV_IMAGE_RESIZE_SHORTEST_EDGE && !pp->do_center_crop)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "preprocessor: shortest_edge without do_center_crop "
                            "gives a non-square image, not supported");
    if (crop_w != S || crop_h != S)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "preprocessor: output %dx%d, expected the vision "
                            "tower's image_size %dx%d", crop_w, crop_h, S, S);
    if (p->resize_to < S)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "preprocessor: resize to %d then crop %d: a crop "
                            "larger than the image is not supported", p->resize_to, S);
    for (int c = 0; c < 3; c++) {
        p->mean[c] = pp->do_normalize ? pp->mean[c] : 0.0;
        p->std[c] = pp->do_normalize ? pp->std[c] : 1.0;
    }
    return TLV_OK;
}
