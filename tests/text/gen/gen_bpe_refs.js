#!/usr/bin/env node
/* Reference token ids for the byte-level BPE tests, from the Hugging Face tokenizers library
 * (npm @anush008/tokenizers 0.6.0 = native HF tokenizers 0.22 through N-API), with the slow
 * (Python) tokenizer's behaviour around the model emulated here, step by step:
 *
 *   model part (HF library): tokenizer.json built from vocab.json + merges.txt:
 *     BPE (no dropout, no unk), pre_tokenizer ByteLevel(add_prefix_space=false, use_regex=true)
 *     for GPT-2 / Phi-2, Sequence[Split(Qwen2 regex, Isolated), ByteLevel(use_regex=false)]
 *     for Qwen2.5, no normalizer, no added tokens, no post-processor;
 *   around it (this script), as transformers 4.40.1 PreTrainedTokenizer.tokenize() does:
 *     1. bytes -> str with invalid UTF-8 replaced (TextDecoder = Python 'replace');
 *     2. Qwen2Tokenizer only: NFC of the whole text (String.prototype.normalize);
 *     3. added tokens cut out with a port of transformers' Trie.split (below): the fast
 *        tokenizer would instead match its own way, and for Phi-2 the 38 whitespace tokens are
 *        the difference the fixtures show ("\n    def" -> 198, 50284, 4299 'def', no 'Ġ');
 *     4. each remaining piece encoded alone by the library; added tokens -> their ids;
 *   decoding (PreTrainedTokenizer._decode): tokens that are added but not special, and
 *   additional special tokens past the model vocabulary, are sub-texts of their own; each run
 *   between them is byte-decoded (GPT-2 alphabet -> bytes -> UTF-8 with replacement); the
 *   sub-texts are joined with " " (spaces_between_special_tokens, default True) except for
 *   Qwen2Tokenizer, whose _decode defaults it to False.
 *
 * Usage: node gen_bpe_refs.js <tokenizers module dir> <tests/text/data>
 * Writes ref_gpt2.jsonl.gz, ref_phi2.jsonl.gz, ref_phi2_strip.jsonl.gz, ref_qwen2.jsonl.gz: {"ids": [...], "dec": ..., "dec_skip": ...}
 * per line of strings.jsonl. */
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { Tokenizer } = require(process.argv[2]);
const DATA = process.argv[3];

const GPT2_RE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const QWEN2_RE = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function readGz(p) { return zlib.gunzipSync(fs.readFileSync(p)).toString('utf8'); }

function modelJson(dir, qwen) {
  const vocab = JSON.parse(readGz(path.join(DATA, dir, 'vocab.json.gz')));
  const merges = readGz(path.join(DATA, dir, 'merges.txt.gz')).split('\n')
    .filter((l, i) => l.length && !(i === 0 && l.startsWith('#version')));
  const pre = qwen
    ? { type: 'Sequence', pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_RE }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }] }
    : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: pre, post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
             end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
             vocab, merges },
  };
}

/* transformers 4.40.1 tokenization_utils.py Trie.split, ported line by line (over code points). */
class Trie {
  constructor(words) { this.data = {}; for (const w of words) this.add(w); }
  add(word) {
    let ref = this.data;
    for (const c of Array.from(word)) { if (!(c in ref)) ref[c] = {}; ref = ref[c]; }
    ref[''] = 1;
  }
  split(textStr) {
    const text = Array.from(textStr);
    let states = new Map();
    const offsets = [0];
    let skip = 0;
    for (let current = 0; current < text.length; current++) {
      const currentChar = text[current];
      if (skip && current < skip) continue;
      const toRemove = new Set();
      let reset = false;
      for (const [start0, triePointer0] of states) {
        let start = start0, triePointer = triePointer0;
        if ('' in triePointer) {
          let end = 0;
          for (const [lookstart, looktrie0] of states) {
            let looktriePointer = looktrie0;
            let lookaheadIndex;
            if (lookstart > start) break;
            else if (lookstart < start) { lookaheadIndex = current + 1; end = current + 1; }
            else { lookaheadIndex = current; end = current; }
            let nextChar = lookaheadIndex < text.length ? text[lookaheadIndex] : null;
            if ('' in looktriePointer) { start = lookstart; end = lookaheadIndex; skip = lookaheadIndex; }
            while (nextChar !== null && nextChar in looktriePointer) {
              looktriePointer = looktriePointer[nextChar];
              lookaheadIndex += 1;
              if ('' in looktriePointer) { start = lookstart; end = lookaheadIndex; skip = lookaheadIndex; }
              if (lookaheadIndex === text.length) break;
              nextChar = text[lookaheadIndex];
            }
          }
          offsets.push(start); offsets.push(end);
          reset = true;
          break;
        } else if (currentChar in triePointer) {
          states.set(start, triePointer[currentChar]);
        } else {
          toRemove.add(start);
        }
      }
      if (reset) states = new Map();
      else for (const s of toRemove) states.delete(s);
      if (current >= skip && currentChar in this.data) states.set(current, this.data[currentChar]);
    }
    for (const [start, triePointer] of states) {
      if ('' in triePointer) { offsets.push(start); offsets.push(text.length); break; }
    }
    // cut_text
    offsets.push(text.length);
    const tokens = [];
    let start = 0;
    for (const end of offsets) {
      if (start > end) { throw new Error('trie offsets out of order'); }
      else if (start === end) continue;
      tokens.push(text.slice(start, end).join(''));
      start = end;
    }
    return tokens;
  }
}

function byteDecoder() {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 0xA1; b <= 0xAC; b++) bs.push(b);
  for (let b = 0xAE; b <= 0xFF; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  const m = new Map();
  bs.forEach((b, i) => m.set(String.fromCodePoint(cs[i]), b));
  return m;
}
const BYTE_DEC = byteDecoder();
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true }); // keep a leading U+FEFF, as Python does

function bytesToText(tokens) {
  const out = [];
  for (const t of tokens) for (const c of Array.from(t)) {
    if (BYTE_DEC.has(c)) out.push(BYTE_DEC.get(c)); else out.push(...Buffer.from(c, 'utf8'));
  }
  return UTF8.decode(Buffer.from(out));
}

function loadConfig(dir) {
  if (!dir) return null;
  const r = (f) => { const p = path.join(DATA, dir, f); return fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')) : null; };
  return { cfg: r('tokenizer_config.json'), map: r('special_tokens_map.json'), added: r('added_tokens.json') };
}

/* The slow tokenizer's added-token table and special set, from the config files. */
function slowSetup(tok, conf, qwen) {
  const vocabSize = tok.getVocabSize(false);
  const content = (v) => (v == null ? null : typeof v === 'string' ? v : v.content);
  const attrs = { bos_token: qwen ? null : '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' };
  let extra = [];
  for (const src of [conf && conf.cfg, conf && conf.map]) {
    if (!src) continue;
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'])
      if (k in src) attrs[k] = content(src[k]);
    if (Array.isArray(src.additional_special_tokens)) extra = src.additional_special_tokens.map(content);
  }
  const specials = new Set([...Object.values(attrs).filter((x) => x), ...extra]);
  const added = new Map(); // content -> {id, lstrip, rstrip}
  if (conf && conf.cfg && conf.cfg.added_tokens_decoder)
    for (const [id, e] of Object.entries(conf.cfg.added_tokens_decoder))
      if (!added.has(e.content)) added.set(e.content, { id: Number(id), lstrip: !!e.lstrip, rstrip: !!e.rstrip, single_word: !!e.single_word });
  if (conf && conf.added)
    for (const [c, id] of Object.entries(conf.added)) if (!added.has(c)) added.set(c, { id, lstrip: false, rstrip: false });
  let next = Math.max(vocabSize, ...[...added.values()].map((a) => a.id + 1));
  for (const s of specials) if (!added.has(s)) {
    const id = tok.tokenToId(s);
    added.set(s, { id: id != null ? id : next++, lstrip: false, rstrip: false });
  }
  const idToAdded = new Map([...added].map(([c, a]) => [a.id, c]));
  const specialIds = new Set([...specials].map((s) => added.get(s).id));
  const legacy = new Set();
  for (const [c, a] of added) if (!specials.has(c) || (extra.includes(c) && a.id >= vocabSize)) legacy.add(a.id);
  return { added, idToAdded, specialIds, legacy, trie: new Trie([...added.keys()]) };
}

/* Python's str.lstrip()/rstrip(): str.isspace() characters (JS trim's set differs). */
const PY_SPACE = new Set([...'\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005' +
  '\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000']);
function pyStrip(s, left, right) {
  const cps = Array.from(s);
  let a = 0, b = cps.length;
  if (left) while (a < b && PY_SPACE.has(cps[a])) a++;
  if (right) while (b > a && PY_SPACE.has(cps[b - 1])) b--;
  return cps.slice(a, b).join('');
}

async function encodeSlow(tok, s, text, qwen) {
  if (qwen) text = text.normalize('NFC');
  const parts = s.trie.split(text);
  /* PreTrainedTokenizer.tokenize(), transformers 4.40.1, line by line. */
  for (let i = 0; i < parts.length; i++) {
    const token = parts[i];
    const a = s.added.get(token);
    if (!a) continue;
    const left = i > 0 ? parts[i - 1] : null;
    const right = i < parts.length - 1 ? parts[i + 1] : null;
    if (a.rstrip && right) parts[i + 1] = pyStrip(right, true, false);
    if (a.lstrip && left) parts[i - 1] = pyStrip(left, false, true);
    if (a.single_word && left && left[left.length - 1] !== ' ') {
      parts[i - 1] += token;
      parts[i] = '';
    } else if (a.single_word && right && right[0] !== ' ') {
      parts[i] += parts[i + 1];
      parts[i + 1] = '';
    }
  }
  const ids = [];
  for (const p of parts) {
    if (!p) continue;
    if (s.added.has(p)) { ids.push(s.added.get(p).id); continue; }
    const enc = await tok.encode(p, null, { addSpecialTokens: false });
    ids.push(...enc.getIds());
  }
  return ids;
}

function decodeSlow(tok, s, ids, skip, spacesBetween) {
  const subs = [];
  let run = [];
  const flush = (always) => {
    if (!run.length) return;
    const str = bytesToText(run);
    if (always || str.length > 0) subs.push(str);
    run = [];
  };
  for (const id of ids) {
    if (skip && s.specialIds.has(id)) continue;
    const t = s.idToAdded.has(id) ? s.idToAdded.get(id) : tok.idToToken(id);
    if (s.legacy.has(id)) { flush(false); subs.push(t); } else run.push(t);
  }
  flush(true);
  return subs.join(spacesBetween ? ' ' : '');
}

async function main() {
  const lines = fs.readFileSync(path.join(DATA, 'strings.jsonl'), 'utf8').split('\n').filter((l) => l);
  const texts = lines.map((l) => { const o = JSON.parse(l); return 'hex' in o ? UTF8.decode(Buffer.from(o.hex, 'hex')) : o.t; });
  const cases = [
    { name: 'gpt2', model: 'gpt2', conf: null, qwen: false },
    { name: 'phi2', model: 'gpt2', conf: 'phi2', qwen: false },
    /* phi2 with <|endoftext|> marked lstrip + rstrip and "    " (50284) single_word */
    { name: 'phi2_strip', model: 'gpt2', conf: 'phi2_strip', qwen: false },
    { name: 'qwen2', model: 'qwen2.5', conf: 'qwen2', qwen: true },
  ];
  for (const c of cases) {
    const tok = Tokenizer.fromString(JSON.stringify(modelJson(c.model, c.qwen)));
    const s = slowSetup(tok, loadConfig(c.conf), c.qwen);
    const out = [];
    for (const text of texts) {
      const ids = await encodeSlow(tok, s, text, c.qwen);
      out.push(JSON.stringify({ ids, dec: decodeSlow(tok, s, ids, false, !c.qwen), dec_skip: decodeSlow(tok, s, ids, true, !c.qwen) }));
    }
    fs.writeFileSync(path.join(DATA, `ref_${c.name}.jsonl.gz`), zlib.gzipSync(out.join('\n') + '\n', { level: 9 }));
    console.error(`${c.name}: ${out.length} references`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
