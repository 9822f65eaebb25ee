// Prints tiktoken's own token ids (the npm `tiktoken` package: OpenAI's Rust tiktoken compiled
// to WebAssembly) for corpus.json, as {"cl100k_base": [[ids...], ...], "o200k_base": [...]}.
// reference.json is this script's output, committed; the tokenizer.reference test regenerates
// it and compares, so the expected ids are tiktoken's, not ours.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../third_party/tiktoken/package.json'));
const { get_encoding } = require('tiktoken');

const corpus = JSON.parse(readFileSync(join(here, 'corpus.json'), 'utf8'));
const out = {};
for (const name of ['cl100k_base', 'o200k_base']) {
  const enc = get_encoding(name);
  out[name] = corpus.map((text) => Array.from(enc.encode_ordinary(text)));
  enc.free();
}
process.stdout.write(JSON.stringify(out) + '\n');
