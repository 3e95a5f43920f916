#!/usr/bin/env python3
"""Writes tests/text/data/strings.jsonl: the test strings every tokenizer test encodes.

One JSON object per line: {"t": "text"} for valid UTF-8, {"hex": "..."} for byte strings that
are not (the tokenizers see them with invalid sequences replaced by U+FFFD, maximal subparts,
as Python's bytes.decode('utf-8', 'replace') and WHATWG TextDecoder do).
Deterministic: run it again and the file is the same.  Usage: gen_strings.py OUT.jsonl
"""
import json
import random
import sys

rng = random.Random(20240501)

WORDS = ("the of and to in is was that for on with as by at from this be are it an or not have which "
         "weather house color picture fruit table answer sentence caption photo city dusk function "
         "total mean return spaces same assistant user question helpful detailed polite curious "
         "artificial intelligence chat between Hello World Python JavaScript tokenizer Vulkan GPU").split()

PROSE = [
    "A chat between a curious user and an artificial intelligence assistant.",
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
    "What is the weather like in this picture, and what color is the house?",
    "How many pieces of fruit are on the table? Answer in one short sentence.",
    "Write a caption for this photo of a city at dusk.",
    "It adds up the numbers and divides by how many there are.",
    "I'm sure you'll like it; they've said we'd go, isn't it?",
    "I'M SURE YOU'LL LIKE IT; THEY'VE SAID WE'D GO, ISN'T IT?",
    "Don't stop-believing!!! ...and then??? (maybe) [yes] {no} <html>",
    "E-mail: someone@example.com, URL: https://example.org/path?q=1&r=2#frag",
    "Prices: $3.50, \u20ac4,20, \u00a35; 50% off; 1,000,000 items; 3.14159265358979",
    "Mr. O'Neil's dog's bone ... Ms. D'Arcy's cat.",
    "Line one\nLine two\r\nLine three\rLine four\n\n\nend",
    "  leading spaces and trailing spaces   ",
    "multiple     internal      spaces\tand\ttabs",
    "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D",
    "USER: <image>\nWhat is this? ASSISTANT:",
]

CODE = [
    "def mean(xs):\n\ttotal = 0\n\tfor x in xs:\n\t\ttotal  +=  x\n\treturn total / len(xs)",
    "Now with spaces:\n    def mean(xs):\n        return sum(xs)   /   len(xs)\n\t\t\t# is this    the same?",
    "int main(void) {\n    printf(\"%d\\n\", 42);\n    return 0;\n}\n",
    "for (size_t i = 0; i < n; i++) {\n\t\tif (a[i] != b[i]) return -1;\n\t}",
    "    if x:\n        y = [i**2 for i in range(10)]  # squares\n            z = {'a': 1, \"b\": 2}",
    "#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))\n",
    "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';",
    "<div class=\"x\">\n  <p>Hello&nbsp;world</p>\n</div>",
    "fn main() { let v: Vec<u8> = vec![1, 2, 3]; println!(\"{:?}\", v); }",
    "x = 1;\t\t\t\t\t\t\t\t\t\t\t\ty = 2;" + " " * 40 + "z = 3;",
    "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
    " " * 70 + "end",
    "a \tb\t c \t d\n \n\t\n",
    "    \n        \n            \n",
    "key:\tvalue\n  - item1\n  - item2\n",
    "$ ls -la | grep '^d' && echo \"done\" || exit 1",
]

CJK = ["\u4f60\u597d\uff0c\u4e16\u754c\uff01\u4eca\u5929\u5929\u6c14\u5f88\u597d\u3002",
       "\u6211\u7231\u5317\u4eac\u5929\u5b89\u95e8\uff0c\u5929\u5b89\u95e8\u4e0a\u592a\u9633\u5347\u3002",
       "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3002",
       "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4. \uc548\ub155\ud558\uc138\uc694!",
       "\u8fd9\u662f\u4e00\u4e2a\u6d4b\u8bd5\uff1aABC123\u3001\u4e2d\u82f1\u6df7\u5408 text\u3002",
       "\u3000\u5168\u89d2\u7a7a\u683c\u3000\u3068\uff21\uff22\uff23\uff11\uff12\uff13",
       "\U00020000\U0002A6D6\U0002F800 rare CJK extension characters",
       "\u9f8d\u9f98\u7e41\u9ad4\u5b57\u8207\u7b80\u4f53\u5b57"]
ARABIC = ["\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645! \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f",
          "\u0627\u0644\u0644\u063a\u0629 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0661\u0662\u0663\u0664\u0665 \u0623\u0631\u0642\u0627\u0645",
          "\u0628\u0650\u0633\u0652\u0645\u0650 \u0627\u0644\u0644\u0651\u064e\u0647\u0650 (with harakat)",
          "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd, \u05de\u05d4 \u05e9\u05dc\u05d5\u05de\u05da?"]
DEVANAGARI = ["\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e! \u0906\u092a \u0915\u0948\u0938\u0947 \u0939\u0948\u0902?",
              "\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e \u0967\u0968\u0969 \u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f",
              "\u0938\u0902\u0938\u094d\u0915\u0943\u0924\u092e\u094d \u0935\u093e\u0915\u094d\u092f\u092e\u094d\u0964",
              "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
              "\u0f56\u0f7c\u0f51\u0f0b\u0f61\u0f72\u0f42 Tibetan, \u1780\u17d2\u1798\u17c2\u179a Khmer"]
OTHER = ["\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u041a\u0430\u043a \u0434\u0435\u043b\u0430?",
         "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5 \u03a9\u03b1\u03b2",
         "Gr\u00fc\u00dfe aus K\u00f6ln, \u00e7a va? na\u00efve caf\u00e9 \u00c5ngstr\u00f6m",
         "T\u00fcrk\u00e7e \u0131\u0130 \u015f\u011f \u2014 Polish \u0142\u00f3d\u017a \u2013 Vietnamese Ti\u1ebfng Vi\u1ec7t",
         "\u2200x\u2208\u211d: x\u00b2 \u2265 0 \u2211 \u222b \u221e \u2248 \u2260 \u00bd \u2153 \u2460\u2461\u2462",
         "\u00b9\u00b2\u00b3 \u2070 \u2081\u2082 \u2165 \u216b \u0660\u06f1 \u096b \uff19",
         "\ufb01 \ufb02 ligatures, \u212b \u2126 \u212a (Kelvin) \u017f (long s) 'K'\u212a '\u017f",
         "\u2581already\u2581has\u2581sentencepiece\u2581spaces \u2581 \u2581\u2581x"]
EMOJI = ["\U0001F600\U0001F603\U0001F604 smile",
         "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 family",
         "\U0001F44D\U0001F3FB\U0001F44D\U0001F3FC\U0001F44D\U0001F3FD\U0001F44D\U0001F3FE\U0001F44D\U0001F3FF thumbs",
         "\U0001F469\U0001F3FD\u200D\U0001F4BB coder \U0001F9D1\U0001F3FF\u200D\U0001F91D\u200D\U0001F9D1\U0001F3FB",
         "\U0001F1FA\U0001F1F8\U0001F1EF\U0001F1F5\U0001F1E9\U0001F1EA flags",
         "1\uFE0F\u20E3 #\uFE0F\u20E3 *\uFE0F\u20E3 keycaps \u2764\uFE0F \u2764\uFE0F\u200D\U0001F525",
         "\U0001F3F3\uFE0F\u200D\U0001F308 \U0001F3F4\u200D\u2620\uFE0F \U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",
         "I \u2764 \U0001F355!!! \U0001F923\U0001F923\U0001F923"]
COMBINING = ["e\u0301 a\u0300 o\u0308 n\u0303 (decomposed) vs \u00e9 \u00e0 \u00f6 \u00f1",
             "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u0334\u0335\u031c\u0330\u0354L\u0359\u0348G\u0328O zalgo",
             "\u1100\u1161\u11a8 jamo \u1112\u1161\u11ab\u1100\u1173\u11af",
             "\u0041\u030a \u212b \u00c5 angstroms; \u0063\u0327 \u00e7; \u0073\u0323\u0307 \u1e69",
             "\u0915\u093c \u0958 nukta; \u0627\u0653 \u0622 madda",
             "q\u0307\u0323 \u1e0b\u0323 \u1e0d\u0307 ordering of marks",
             "\u0301 leading combining mark, \u0300\u0301\u0302 several",
             "\u00c7a\u0300 e\u0302\u0301 \u01d5 U\u0308\u0304"]
WS = ["", " ", "  ", "\n", "\r\n", "\t", "\t\t", "\x0b", "\x0c", "\x85", "\xa0", "\u3000", "\u2028", "\x1c\x1d\x1e\x1f",
      " \n ", "\n\n\n\n", "\r\r\n\n", "   \t  \n", "a\x85b", "a\u00a0b", "x\u200by", "\ufeffBOM"]
SPECIAL = ["<|endoftext|>", "Hello<|endoftext|>world", "end.<|endoftext|>USER: next", "<|endoftext|><|endoftext|>",
           "<|im_start|>system\nYou are Qwen.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
           "<|im_start|> spaced <|im_end|>", "<tool_call>{\"a\": 1}</tool_call>", "<|fim_prefix|>def<|fim_suffix|>x<|fim_middle|>",
           "<s>Hello</s>", "<s> Hello </s>", " <s>", "<unk> text", "text <unk>", "a</s>b<s>c", "<|endoftext", "<|im_start", "<s",
           "<|vision_start|><|image_pad|><|vision_end|>", "<|endoftext|>   spaces after", "\t\t<|endoftext|>\t\t"]
INVALID = [b"\xff", b"\xfe\xff", b"abc\x80def", b"\xc3", b"caf\xc3", b"\xe2\x82", b"\xe2\x82\xac\xe2\x82", b"\xf0\x9f\x98",
           b"\xf0\x9f\x98\x80\xf0\x9f", b"\xc0\xaf overlong", b"\xe0\x80\xaf overlong3", b"\xed\xa0\x80 surrogate",
           b"\xf4\x90\x80\x80 too big", b"\xf5\xf6\xf7\xf8", b"\x80\x81\x82\x83", b"a\xc2b\xc2", b"\xe4\xbd\xa0\xe5\xa5",
           b"\xef\xbf\xbd real U+FFFD", b"mixed \xce\xb1\xce \xce\xb2", b"\xc2\xa0\xc2", b"tail \xf0\x9f\x98\x80\xf0"]
LONG = ["a" * 1000, "supercalifragilisticexpialidocious" * 30, "1234567890" * 200, "x" + "ab" * 1500,
        "https://example.com/" + "very-long-path-segment/" * 60, "\u4e2d" * 800, "\U0001F600" * 300,
        "-" * 500 + ">", "\u0928\u092e\u0938\u094d\u0924\u0947" * 200, "Aa1!" * 400]


def word():
    return rng.choice(WORDS)


def random_prose():
    n = rng.randint(3, 25)
    out = []
    for _ in range(n):
        w = word()
        if rng.random() < 0.1:
            w = w.capitalize()
        if rng.random() < 0.08:
            w = w.upper()
        out.append(w)
        if rng.random() < 0.1:
            out[-1] += rng.choice([",", ".", ";", ":", "!", "?", "'s", "n't", "'ll", "\"", ")"])
    return " ".join(out)


def random_code():
    lines = []
    for _ in range(rng.randint(1, 6)):
        indent = rng.choice(["", "\t", "\t\t", "    ", "        ", "  ", "\t    ", "   ", " " * rng.randint(0, 33),
                             "\t" * rng.randint(0, 11)])
        body = rng.choice(["x = y + 1", "return f(a, b)", "if (p) {", "}", "# comment  here", "a[i] = b[i]*2;",
                           "print('hi')", "total  +=  x", "for x in xs:", "// TODO", ""])
        lines.append(indent + body + rng.choice(["", " ", "  ", "\t"]))
    return rng.choice(["\n", "\r\n"]).join(lines)


POOLS = [PROSE, CODE, CJK, ARABIC, DEVANAGARI, OTHER, EMOJI, COMBINING, WS, SPECIAL]


def random_mix():
    parts = []
    for _ in range(rng.randint(2, 6)):
        r = rng.random()
        if r < 0.15:
            parts.append(random_prose())
        elif r < 0.25:
            parts.append(random_code())
        else:
            s = rng.choice(rng.choice(POOLS))
            if len(s) > 12 and rng.random() < 0.5:
                a = rng.randint(0, len(s) - 1)
                s = s[a:a + rng.randint(1, 20)]
            parts.append(s)
    return rng.choice(["", " ", "\n", "", ""]).join(parts)


def random_bytes():
    out = bytearray()
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.4:
            out += rng.choice(WORDS).encode() + b" "
        elif r < 0.7:
            out += rng.choice(rng.choice([CJK, EMOJI, OTHER])).encode()[: rng.randint(1, 10)]
        else:
            out.append(rng.randint(0x80, 0xFF))
    return bytes(out)


def main():
    cases = []
    for pool in (PROSE, CODE, CJK, ARABIC, DEVANAGARI, OTHER, EMOJI, COMBINING, WS, SPECIAL, LONG):
        cases += pool
    cases += [random_prose() for _ in range(80)]
    cases += [random_code() for _ in range(80)]
    cases += [random_mix() for _ in range(170)]
    cases += INVALID
    cases += [random_bytes() for _ in range(30)]
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        for c in cases:
            if isinstance(c, bytes):
                try:
                    c.decode("utf-8")
                    rec = {"t": c.decode("utf-8")}
                except UnicodeDecodeError:
                    rec = {"hex": c.hex()}
            else:
                rec = {"t": c}
            f.write(json.dumps(rec, ensure_ascii=True) + "\n")
    print(f"{len(cases)} strings", file=sys.stderr)


if __name__ == "__main__":
    main()
