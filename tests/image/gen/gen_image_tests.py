#!/usr/bin/python3
"""Generates tests/image/data: input images and what Pillow 9.4 + the transformers 4.40.1
preprocessing give for them. Run with Debian's /usr/bin/python3 (python3-pil, python3-numpy):

    /usr/bin/python3 tests/image/gen/gen_image_tests.py

Outputs (all small):
  data/in/*            input images (PNG in every colour mode, BMP, GIF, TGA, JPEG)
  data/cases.txt       one check per line (format below); digests are SHA-256 of uint8 buffers
  data/norm.f32        float32 normalize tables: for each mean/std set, [3][256]
  data/jpeg/*.rgb      Pillow's (libjpeg-turbo) decode of the JPEG inputs, H*W*3 bytes
  data/fixtures/*      the 4 end-to-end fixture images, their pixel_values as raw float32, and
                       their config.json + preprocessor_config.json

cases.txt lines:
  decode  <file> <w> <h> <sha256 of Pillow convert("RGB") bytes, H*W*3>
  jpeg    <file> <w> <h> <file of Pillow's RGB bytes>
  resize  <file> <out_w> <out_h> <sha256 of Pillow resize((out_w,out_h), BICUBIC) bytes>
  prep    <file> <aspect:square|pad> <resize:exact|crop> <S> <R> <meanset> <sha256 of uint8 SxSx3>
          (R: resize target, 0 = S; then centre crop S)
  decode  lines also cover the fixture PNGs (digest = expected.json image_rgb_sha256)
  fixture <image> <aspect> <resize> <S> <meanset> <pixel_values f32 file> <tolerance>
meanset: 0 = SigLIP (0.5,0.5,0.5)/(0.5,0.5,0.5), 1 = CLIP, 2 = odd values (pad colour rounding).
"""
import hashlib, json, os, sys
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data')
FIXTURES = '/work/shared/fixtures'
MEANSETS = [
    ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    ((0.999, 0.0039, 0.25098), (0.1, 2.0, 0.3)),
]


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).hexdigest()


def expand2square(img, bg):  # TinyLLaVA_Factory ImagePreprocess.expand2square
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    r = Image.new(img.mode, (side, side), bg)
    r.paste(img, ((side - w) // 2, (side - h) // 2))
    return r


def prep_u8(path, aspect, resize, S, meanset, R=0):
    """What the reference has just before rescale: PIL -> RGB -> pad -> transformers resize to R
    (exact R x R, or shortest edge R) -> center_crop S x S."""
    R = R or S
    img = Image.open(path).convert('RGB')
    mean, _ = MEANSETS[meanset]
    if aspect == 'pad':
        img = expand2square(img, tuple(int(m * 255) for m in mean))
    if resize == 'exact':  # SiglipImageProcessor: resize to (R, R)
        ow, oh = R, R
    else:  # CLIPImageProcessor: get_resize_output_image_size(default_to_square=False)
        w, h = img.size
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(R * long / short)
        ow, oh = (R, new_long) if w <= h else (new_long, R)
    a = np.asarray(img.resize((ow, oh), Image.BICUBIC))
    top, left = (oh - S) // 2, (ow - S) // 2   # transformers center_crop
    return a[top:top + S, left:left + S]


def normalize(a_u8, meanset):
    """transformers 4.40.1: rescale (float64 multiply, astype float32), normalize in float32."""
    mean, std = MEANSETS[meanset]
    x = (a_u8 * 0.00392156862745098).astype(np.float32)
    return (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)


def rng_image(seed, w, h, smooth=0.5):
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)),
                     ((xx + yy) * 7) % 256], -1).astype(np.float64)
    noise = r.integers(0, 256, (h, w, 3)).astype(np.float64)
    return np.clip(base * smooth + noise * (1 - smooth), 0, 255).astype(np.uint8)


def main():
    os.makedirs(os.path.join(DATA, 'in'), exist_ok=True)
    os.makedirs(os.path.join(DATA, 'jpeg'), exist_ok=True)
    os.makedirs(os.path.join(DATA, 'fixtures'), exist_ok=True)
    files = {}

    def save(name, im, **kw):
        p = os.path.join(DATA, 'in', name)
        im.save(p, **kw)
        files[name] = p

    rgb = rng_image(1, 173, 91)
    save('rgb_173x91.png', Image.fromarray(rgb))
    save('rgb_31x17.png', Image.fromarray(rng_image(2, 31, 17, 0.0)))           # pure noise
    save('rgb_1x2000.png', Image.fromarray(rng_image(3, 1, 2000, 0.7)))
    save('rgb_2000x1.png', Image.fromarray(rng_image(4, 2000, 1, 0.7)))
    save('rgb_257x129.png', Image.fromarray(rng_image(5, 257, 129, 0.9)))
    save('rgb_5x7.png', Image.fromarray(rng_image(6, 5, 7, 0.0)))
    save('rgb_1x1.png', Image.fromarray(rng_image(7, 1, 1, 0.0)))
    save('rgb_400x400.png', Image.fromarray(rng_image(8, 400, 400, 1.0)))
    g = rng_image(9, 67, 45)[..., 0]
    save('gray_67x45.png', Image.fromarray(g, 'L'))
    la = np.stack([g, rng_image(10, 67, 45)[..., 1]], -1)
    save('la_67x45.png', Image.fromarray(la, 'LA'))
    rgba = np.concatenate([rng_image(11, 45, 67), rng_image(12, 45, 67)[..., :1]], -1)
    rgba[::3, ::2, 3] = 0    # fully transparent pixels keep their colour in convert("RGB")
    save('rgba_45x67.png', Image.fromarray(rgba, 'RGBA'))
    pal = Image.fromarray(rng_image(13, 50, 40, 0.6)).quantize(colors=37)
    save('pal_50x40.png', pal)
    palt = pal.copy()
    palt.info['transparency'] = bytes([0, 128] + [255] * 35)
    save('palt_50x40.png', palt, transparency=bytes([0, 128] + [255] * 35))
    save('bw_33x21.png', Image.fromarray(rng_image(14, 33, 21)[..., 0] > 127))   # 1-bit
    g16 = (np.arange(40 * 30, dtype=np.uint32).reshape(30, 40) * 53 % 65536).astype(np.uint16)
    g16[:3, :] = np.arange(40, dtype=np.uint16)[None, :] * 7  # some values below 256
    save('gray16_40x30.png', Image.fromarray(g16))   # mode I;16: Pillow clips to 255
    r16 = np.random.default_rng(20)
    g16t = r16.integers(0, 65536, (9, 11))
    g16t[0, :5] = [0, 1, 100, 255, 256]
    for name, arr, ctype, trns in [
            ('rgb16_24x20.png', rng_image(15, 24, 20).astype(np.uint16) * 257 + 3, 2, None),
            ('la16_11x9.png', r16.integers(0, 65536, (9, 11, 2)), 4, None),        # Pillow: RGBA, high byte
            ('rgba16_11x9.png', r16.integers(0, 65536, (9, 11, 4)), 6, None),
            ('gray16t_11x9.png', g16t, 0, int(g16t[1, 1]).to_bytes(2, 'big'))]:  # mode I + tRNS
        with open(os.path.join(DATA, 'in', name), 'wb') as f:
            write_png16(f, arr, ctype, trns)
        files[name] = os.path.join(DATA, 'in', name)
    save('rgb_61x39.bmp', Image.fromarray(rng_image(16, 61, 39)))
    save('pal_61x39.bmp', Image.fromarray(rng_image(16, 61, 39)).quantize(colors=20))
    save('rgb_61x39.tga', Image.fromarray(rng_image(17, 61, 39)))
    save('rgb_61x39_rle.tga', Image.fromarray(rng_image(17, 61, 39, 0.99)), compression='tga_rle')
    save('pal_61x39.gif', Image.fromarray(rng_image(18, 61, 39)).quantize(colors=64))
    # transparent index 5: Pillow shows its palette colour; stb_image would give black
    save('palt_61x39.gif', Image.fromarray(rng_image(21, 61, 39)).quantize(colors=64), transparency=5)
    save('gray_30x20.gif', Image.fromarray(rng_image(22, 30, 20)[..., 0], 'L'))
    jpg_rgb = rng_image(19, 96, 64, 0.9)
    save('rgb420_96x64.jpg', Image.fromarray(jpg_rgb), quality=90)
    save('rgb444_95x63.jpg', Image.fromarray(jpg_rgb[:63, :95]), quality=95, subsampling=0)
    save('gray_96x64.jpg', Image.fromarray(jpg_rgb[..., 1]), quality=90)
    save('prog_96x64.jpg', Image.fromarray(jpg_rgb), quality=85, progressive=True)

    lines = []
    for name in sorted(files):
        im = Image.open(files[name])
        a = np.asarray(im.convert('RGB'))
        if name.endswith('.jpg'):
            raw = name[:-4] + '.rgb'
            open(os.path.join(DATA, 'jpeg', raw), 'wb').write(a.tobytes())
            lines.append(f'jpeg in/{name} {im.size[0]} {im.size[1]} jpeg/{raw}')
        else:
            lines.append(f'decode in/{name} {im.size[0]} {im.size[1]} {sha(a)}')

    # Plain Pillow resizes: up, down, one axis unchanged (a skipped pass), extreme ratios.
    resizes = [('rgb_173x91.png', [(84, 84), (66, 66), (50, 300), (300, 50), (173, 40), (90, 91),
                                   (173, 91), (1, 1), (1000, 7), (17, 45)]),
               ('rgb_31x17.png', [(384, 384), (30, 16), (32, 18), (7, 100)]),
               ('rgb_1x2000.png', [(384, 384), (1, 384), (3, 11), (1, 2000)]),
               ('rgb_2000x1.png', [(384, 384), (384, 1), (61, 2)]),
               ('rgb_257x129.png', [(128, 64), (129, 65), (255, 127), (514, 258), (256, 128)]),
               ('rgb_5x7.png', [(336, 336), (6, 8), (1, 1)]),
               ('rgb_1x1.png', [(3, 5), (384, 384)]),
               ('rgb_400x400.png', [(384, 384), (336, 336), (80, 80), (7, 3)])]
    for name, sizes in resizes:
        im = Image.open(files[name]).convert('RGB')
        for (w, h) in sizes:
            lines.append(f'resize in/{name} {w} {h} {sha(np.asarray(im.resize((w, h), Image.BICUBIC)))}')

    # Full preprocessing to uint8, all modes.
    prep_inputs = ['rgb_173x91.png', 'rgb_31x17.png', 'rgb_1x2000.png', 'rgb_2000x1.png',
                   'rgb_257x129.png', 'rgb_5x7.png', 'rgb_1x1.png', 'rgb_400x400.png',
                   'gray_67x45.png', 'la_67x45.png', 'rgba_45x67.png', 'pal_50x40.png',
                   'palt_50x40.png', 'bw_33x21.png', 'gray16_40x30.png', 'rgb16_24x20.png',
                   'rgb_61x39.bmp', 'rgb_61x39.tga', 'pal_61x39.gif', 'palt_61x39.gif']
    for name in prep_inputs:
        for aspect in ('square', 'pad'):
            for resize in ('exact', 'crop'):
                for S, R, ms in ((84, 0, 0), (76, 0, 1), (384, 0, 2 if resize == 'crop' else 0), (5, 0, 1),
                                 (40, 45, 1), (64, 73, 0)):
                    a = prep_u8(files[name], aspect, resize, S, ms, R)
                    assert a.shape == (S, S, 3), (name, a.shape)
                    lines.append(f'prep in/{name} {aspect} {resize} {S} {R} {ms} {sha(a)}')

    # Normalize tables: the float32 value of each uint8 level, per channel and mean set.
    tab = np.zeros((len(MEANSETS), 3, 256), dtype=np.float32)
    lv = np.arange(256, dtype=np.uint8)[:, None].repeat(3, 1)
    for ms in range(len(MEANSETS)):
        tab[ms] = normalize(lv, ms).T
    tab.tofile(os.path.join(DATA, 'norm.f32'))

    # The end-to-end fixtures: image and pixel_values (the reference's own output).
    for case in sorted(os.listdir(FIXTURES)):
        d = os.path.join(FIXTURES, case)
        if not os.path.isdir(d):
            continue
        e = json.load(open(os.path.join(d, 'expected.json')))
        pc = json.load(open(os.path.join(d, 'model', 'preprocessor_config.json')))
        S = e['pixel_values_shape'][2]
        resize = 'exact' if 'Siglip' in pc['image_processor_type'] else 'crop'
        ms = [i for i, m in enumerate(MEANSETS) if list(m[0]) == pc['image_mean']][0]
        ext = os.path.splitext(e['image'])[1]
        img = f'fixtures/{case}{ext}'
        os.makedirs(os.path.join(DATA, 'fixtures', case), exist_ok=True)   # the two JSON files the
        for j in ('config.json', 'preprocessor_config.json'):               # engine reads for params
            open(os.path.join(DATA, 'fixtures', case, j), 'wb').write(open(os.path.join(d, 'model', j), 'rb').read())
        open(os.path.join(DATA, img), 'wb').write(open(os.path.join(d, e['image']), 'rb').read())
        pv = f'fixtures/{case}.f32'
        np.array(e['pixel_values'], dtype=np.float32).tofile(os.path.join(DATA, pv))
        tol = '0.05' if ext == '.jpg' else '1e-5'
        if ext == '.png':   # the decoded pixels must be Pillow's (the fixture records their digest)
            a = np.asarray(Image.open(os.path.join(d, e['image'])).convert('RGB'))
            assert sha(a) == e['image_rgb_sha256'], case
            lines.append(f'decode {img} {a.shape[1]} {a.shape[0]} {sha(a)}')
        lines.append(f'fixture {img} {e["image_aspect_ratio"]} {resize} {S} {ms} {pv} {tol}')
        # our own Pillow path must reproduce the fixture exactly (checks this script)
        ref = normalize(prep_u8(os.path.join(d, e['image']), e['image_aspect_ratio'], resize, S, ms), ms)
        got = np.array(e['pixel_values'], dtype=np.float32).reshape(3, S, S)
        assert np.abs(ref.transpose(2, 0, 1) - got).max() < 1e-6, case

    open(os.path.join(DATA, 'cases.txt'), 'w').write('\n'.join(lines) + '\n')
    print(f'{len(lines)} cases')


def write_png16(f, a, color_type, trns=None):
    """A 16-bit PNG (Pillow cannot write 16-bit RGB, RGBA or gray+alpha): color_type 0 gray,
    2 RGB, 4 gray+alpha, 6 RGBA; trns = raw tRNS chunk data."""
    import struct, zlib
    h, w = a.shape[:2]
    raw = b''.join(b'\0' + a[y].astype('>u2').tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, color_type, 0, 0, 0))
            + (chunk(b'tRNS', trns) if trns else b'')
            + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


if __name__ == '__main__':
    main()
