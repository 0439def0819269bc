#!/usr/bin/env python3
"""Writes a llama-architecture GGUF model with synthetic weights and a synthetic vocabulary.

The benchmark needs a model of a real model's shape (its tokens/s depend on the shape, not on
what the weights mean) that we are free to make on any machine, with no download: the device
machine reaches nothing outside. Weights come from a fixed-seed generator, so every run of this
script writes the same bytes and the generated tokens can be compared run to run, native
against PearVisor. Pure Python (struct, array): no numpy needed.

GGUF v3 as llama.cpp reads it: a header, key/value metadata, tensor descriptors, then tensor
data, each tensor aligned to 32 bytes.
"""

import argparse
import array
import random
import struct
import sys

ALIGN = 32
GGML_F32, GGML_F16 = 0, 1
T_U32, T_I32, T_F32, T_STRING, T_ARRAY = 4, 5, 6, 8, 9

# Shapes of well-known models, so that results compare with published numbers.
SHAPES = {
    # TinyLlama 1.1B: 2.2 GB in f16.
    "1b": dict(embd=2048, layers=22, ff=5632, heads=32, heads_kv=4, vocab=32000),
    # A small one for CPU hosts (lavapipe): 0.2 GB in f16.
    "tiny": dict(embd=768, layers=8, ff=2048, heads=12, heads_kv=12, vocab=32000),
}


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gguf_string(key) + struct.pack("<I", vtype)
    if vtype == T_STRING:
        return out + gguf_string(value)
    if vtype == T_ARRAY:
        item_type, items = value
        out += struct.pack("<IQ", item_type, len(items))
        if item_type == T_STRING:
            return out + b"".join(gguf_string(i) for i in items)
        fmt = {T_I32: "<i", T_F32: "<f"}[item_type]
        return out + b"".join(struct.pack(fmt, i) for i in items)
    fmt = {T_U32: "<I", T_I32: "<i", T_F32: "<f"}[vtype]
    return out + struct.pack(fmt, value)


def vocabulary(size):
    """Special tokens, the 256 byte tokens SentencePiece falls back to, then distinct words."""
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    types = [2, 3, 3] + [6] * 256  # unknown, control, byte
    letters = "abcdefghijklmnopqrstuvwxyz"
    n = 0
    while len(tokens) < size:
        word, k = "", n
        while True:
            word = letters[k % 26] + word
            k = k // 26 - 1
            if k < 0:
                break
        tokens.append("\u2581" + word)  # SentencePiece's word-start mark
        types.append(1)
        n += 1
    scores = [0.0] * 259 + [-float(i) for i in range(size - 259)]
    return tokens, scores, types


def tensor_list(s):
    e, ff, v = s["embd"], s["ff"], s["vocab"]
    kv_dim = e // s["heads"] * s["heads_kv"]
    out = [("token_embd.weight", [e, v], GGML_F16)]
    for i in range(s["layers"]):
        p = "blk.%d." % i
        out += [
            (p + "attn_norm.weight", [e], GGML_F32),
            (p + "attn_q.weight", [e, e], GGML_F16),
            (p + "attn_k.weight", [e, kv_dim], GGML_F16),
            (p + "attn_v.weight", [e, kv_dim], GGML_F16),
            (p + "attn_output.weight", [e, e], GGML_F16),
            (p + "ffn_norm.weight", [e], GGML_F32),
            (p + "ffn_gate.weight", [e, ff], GGML_F16),
            (p + "ffn_up.weight", [e, ff], GGML_F16),
            (p + "ffn_down.weight", [ff, e], GGML_F16),
        ]
    out += [("output_norm.weight", [e], GGML_F32), ("output.weight", [e, v], GGML_F16)]
    return out


def padded(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("output", help="the .gguf file to write")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="1b", help="model shape (1b)")
    args = ap.parse_args()
    s = SHAPES[args.shape]

    tokens, scores, types = vocabulary(s["vocab"])
    meta = [
        kv("general.architecture", T_STRING, "llama"),
        kv("general.name", T_STRING, "pearvisor-synthetic-" + args.shape),
        kv("llama.context_length", T_U32, 2048),
        kv("llama.embedding_length", T_U32, s["embd"]),
        kv("llama.block_count", T_U32, s["layers"]),
        kv("llama.feed_forward_length", T_U32, s["ff"]),
        kv("llama.attention.head_count", T_U32, s["heads"]),
        kv("llama.attention.head_count_kv", T_U32, s["heads_kv"]),
        kv("llama.rope.dimension_count", T_U32, s["embd"] // s["heads"]),
        kv("llama.attention.layer_norm_rms_epsilon", T_F32, 1e-5),
        kv("tokenizer.ggml.model", T_STRING, "llama"),
        kv("tokenizer.ggml.tokens", T_ARRAY, (T_STRING, tokens)),
        kv("tokenizer.ggml.scores", T_ARRAY, (T_F32, scores)),
        kv("tokenizer.ggml.token_type", T_ARRAY, (T_I32, types)),
        kv("tokenizer.ggml.bos_token_id", T_U32, 1),
        kv("tokenizer.ggml.eos_token_id", T_U32, 2),
        kv("tokenizer.ggml.unknown_token_id", T_U32, 0),
    ]
    tensors = tensor_list(s)

    # Small weights (|w| < 0.05) keep activations finite through every layer; norms are 1.
    rng = random.Random(20261203)
    count = 1 << 19
    block = struct.pack("<%de" % count, *(rng.uniform(-0.05, 0.05) for _ in range(count)))
    ones = array.array("f", [1.0] * 8192).tobytes()

    with open(args.output, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)))
        for m in meta:
            f.write(m)
        offset = 0
        sizes = []
        for name, dims, gtype in tensors:
            n = 1
            for d in dims:
                n *= d
            size = n * (4 if gtype == GGML_F32 else 2)
            f.write(gguf_string(name) + struct.pack("<I", len(dims)))
            f.write(struct.pack("<%dQ" % len(dims), *dims) + struct.pack("<IQ", gtype, offset))
            sizes.append((size, gtype))
            offset += padded(size)
        f.write(b"\0" * (padded(f.tell()) - f.tell()))
        for i, (size, gtype) in enumerate(sizes):
            src = ones if gtype == GGML_F32 else block
            start = (i * 4099 * 2) % len(src) if gtype == GGML_F16 else 0
            left = size
            while left:
                chunk = src[start:] if start else src
                chunk = chunk[:left]
                f.write(chunk)
                left -= len(chunk)
                start = 0
            f.write(b"\0" * (padded(size) - size))
        total = f.tell()
    print("%s: %s shape, %d tensors, %.2f GB" % (args.output, args.shape, len(tensors), total / 1e9),
          file=sys.stderr)


if __name__ == "__main__":
    main()
