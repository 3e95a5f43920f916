#!/usr/bin/env python3
"""Reference ids for the SentencePiece tests: Debian's python3-sentencepiece (0.1.97) runs the
model, and this script emulates transformers 4.40.1 LlamaTokenizer (the slow tokenizer TinyLLaVA
uses) around it, as its source does:

  legacy=False (tokenizer_config.json "legacy": false, the TinyLlama fixture):
    * the sp model is loaded with normalizer_spec.add_dummy_prefix = False (get_spm_processor
      merges that into the proto; here: the same 4 bytes appended to the serialized ModelProto,
      which protobuf merges the same way);
    * tokenize(): text.replace('▁', ' '), then '▁' + text (add_prefix_space), then added tokens
      are cut out (Trie.split, ported below), then each piece that starts with '▁' or ' ' is
      encoded as unk_token + piece and the first len(encode(unk_token)) pieces dropped; a lone
      leading '▁' before a special token is dropped;
  legacy=True: added tokens cut out, each piece sp.encode()d as is (dummy prefix on).
  BOS (1) in front when add_special_tokens (add_bos_token=True).
Decoding: _decode() + LlamaTokenizer.convert_tokens_to_string() (strip the first token's '▁',
special tokens verbatim, sp_model.decode() for the runs between them, legacy adds a ' ' before
a special token that follows a normal one).

Usage: gen_spm_refs.py tests/text/data   (reads llama2/tokenizer.model.gz, strings.jsonl)
Writes ref_llama.jsonl.gz (legacy=False) and ref_llama_legacy.jsonl.gz: {"ids", "dec", "dec_skip"},
and llama_json/tokenizer.json.gz (see write_tokenizer_json)."""
import gzip
import json
import os
import sys

import sentencepiece as spm

DATA = sys.argv[1]
SPIECE = "\u2581"
SPECIALS = ["<unk>", "<s>", "</s>"]  # all_special_tokens (pad_token is <unk> too)
SPECIAL_IDS = {0, 1, 2}


class Trie:  # transformers 4.40.1 tokenization_utils.Trie
    def __init__(self, words):
        self.data = {}
        for w in words:
            ref = self.data
            for c in w:
                ref = ref.setdefault(c, {})
            ref[""] = 1

    def split(self, text):
        states = {}
        offsets = [0]
        skip = 0
        for current, current_char in enumerate(text):
            if skip and current < skip:
                continue
            to_remove = set()
            reset = False
            for start, trie_pointer in states.items():
                if "" in trie_pointer:
                    for lookstart, looktrie_pointer in states.items():
                        if lookstart > start:
                            break
                        elif lookstart < start:
                            lookahead_index = current + 1
                            end = current + 1
                        else:
                            lookahead_index = current
                            end = current
                        next_char = text[lookahead_index] if lookahead_index < len(text) else None
                        if "" in looktrie_pointer:
                            start = lookstart
                            end = lookahead_index
                            skip = lookahead_index
                        while next_char in looktrie_pointer:
                            looktrie_pointer = looktrie_pointer[next_char]
                            lookahead_index += 1
                            if "" in looktrie_pointer:
                                start = lookstart
                                end = lookahead_index
                                skip = lookahead_index
                            if lookahead_index == len(text):
                                break
                            next_char = text[lookahead_index]
                    offsets.append(start)
                    offsets.append(end)
                    reset = True
                    break
                elif current_char in trie_pointer:
                    states[start] = trie_pointer[current_char]
                else:
                    to_remove.add(start)
            if reset:
                states = {}
            else:
                for start in to_remove:
                    del states[start]
            if current >= skip and current_char in self.data:
                states[current] = self.data[current_char]
        for start, trie_pointer in states.items():
            if "" in trie_pointer:
                offsets.append(start)
                offsets.append(len(text))
                break
        offsets.append(len(text))
        tokens, start = [], 0
        for end in offsets:
            if start == end:
                continue
            tokens.append(text[start:end])
            start = end
        return tokens


TRIE = Trie(SPECIALS)


def load(legacy):
    proto = gzip.open(os.path.join(DATA, "llama2", "tokenizer.model.gz")).read()
    if not legacy:
        proto += b"\x1a\x02\x18\x00"  # normalizer_spec { add_dummy_prefix: false }
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(proto)
    return sp


def tokenize(sp, text, legacy):
    if not legacy and text:
        text = SPIECE + text.replace(SPIECE, " ")
    unk_len = len(sp.encode("<unk>", out_type=str))
    tokens = []
    for piece in TRIE.split(text):
        if not piece:
            continue
        if piece in SPECIALS:
            tokens.append(piece)
        elif legacy or not piece.startswith((SPIECE, " ")):
            tokens += sp.encode(piece, out_type=str)
        else:
            t = sp.encode("<unk>" + piece, out_type=str)
            tokens += t[unk_len:] if len(t) >= unk_len else t
    if not legacy and len(tokens) > 1 and tokens[0] == SPIECE and tokens[1] in SPECIALS:
        tokens = tokens[1:]
    return [1] + [sp.piece_to_id(t) for t in tokens]


def decode(sp, ids, skip, legacy):
    tokens = [sp.id_to_piece(i) for i in ids if not (skip and i in SPECIAL_IDS)]
    if not tokens:
        return ""
    if tokens[0].startswith(SPIECE):
        tokens[0] = tokens[0][1:]
    cur, out, prev = [], "", False
    for i, tok in enumerate(tokens):
        if tok in SPECIALS:
            if not prev and i != 0 and legacy:
                out += " "
            out += sp.decode(cur) + tok
            prev, cur = True, []
        else:
            cur.append(tok)
            prev = False
    return out + sp.decode(cur)


def write_tokenizer_json(sp):
    """A llama-style tokenizer.json (what transformers' LlamaConverter writes) for the same model:
    vocab = the pieces, merges = SentencePieceExtractor.extract(): for every piece, each split into
    two pieces that are in the vocabulary, ordered by the piece's score (descending), splits of one
    piece by (id left, id right)."""
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    scores = {sp.id_to_piece(i): sp.get_score(i) for i in range(sp.get_piece_size())}
    merges = []
    for piece, score in scores.items():
        local = []
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                local.append((left, right, score))
        local.sort(key=lambda m: (vocab[m[0]], vocab[m[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: m[2], reverse=True)
    added = [{"id": i, "content": sp.id_to_piece(i), "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in (0, 1, 2)]
    tj = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": SPIECE},
                                                           {"type": "Replace", "pattern": {"String": " "}, "content": SPIECE}]},
        "pre_tokenizer": None, "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPIECE}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [m[0] + " " + m[1] for m in merges]},
    }
    os.makedirs(os.path.join(DATA, "llama_json"), exist_ok=True)
    with open(os.path.join(DATA, "llama_json", "tokenizer.json.gz"), "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
            f.write(json.dumps(tj, ensure_ascii=False).encode("utf-8"))
    print(f"llama_json/tokenizer.json.gz: {len(vocab)} pieces, {len(merges)} merges", file=sys.stderr)


def main():
    texts = []
    for line in open(os.path.join(DATA, "strings.jsonl"), encoding="utf-8"):
        o = json.loads(line)
        texts.append(bytes.fromhex(o["hex"]).decode("utf-8", "replace") if "hex" in o else o["t"])
    write_tokenizer_json(load(True))
    for legacy, name in ((False, "ref_llama.jsonl.gz"), (True, "ref_llama_legacy.jsonl.gz")):
        sp = load(legacy)
        lines = []
        for t in texts:
            ids = tokenize(sp, t, legacy)
            lines.append(json.dumps({"ids": ids, "dec": decode(sp, ids, False, legacy),
                                     "dec_skip": decode(sp, ids, True, legacy)}) + "\n")
        with open(os.path.join(DATA, name), "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
                f.write("".join(lines).encode("utf-8"))
        print(f"{name}: {len(texts)} references", file=sys.stderr)


if __name__ == "__main__":
    main()
