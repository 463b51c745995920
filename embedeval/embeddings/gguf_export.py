"""Writing U and V into a GGUF file with ggml's own ``GGUFWriter``, quantised as llama.cpp would store them: to
study what quantisation does to an embedding (``reports/quantisation/``) and to build test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embedeval.errors import EmbedevalError
from embedeval.files import atomic_write

# the types GGUFWriter's own quantiser produces (gguf.quants.quantize); K-quants need llama.cpp's quantize tool
WRITABLE = ("F32", "F16", "BF16", "Q8_0", "Q5_0", "Q5_1", "Q4_0", "Q4_1")


def write_gguf(
    path: str | Path,
    u: np.ndarray,
    v: np.ndarray | None,
    tokens: list[str],
    qtype: str = "F32",
    tokenizer_model: str = "word",
    merges: list[str] | None = None,
    token_types: list[int] | None = None,
    scores: list[float] | None = None,
    architecture: str = "embedeval",
    name: str = "",
) -> Path:
    """U (``token_embd.weight``) and V (``output.weight``; left out when ``v`` is None: tied) as ``qtype``, with the
    vocabulary in the metadata. ``tokenizer_model``: ``word`` (whole words, embedeval's own runs), ``gpt2`` (byte-level
    BPE, with ``merges``) or ``llama`` (SentencePiece pieces, with ``scores``)."""
    import gguf
    from gguf.quants import quantize

    if qtype not in WRITABLE:
        raise EmbedevalError(f"GGUF type {qtype!r}: embedeval writes {', '.join(WRITABLE)}")
    if len(tokens) != u.shape[0]:
        raise EmbedevalError(f"{len(tokens):,} tokens for {u.shape[0]:,} rows")
    kind = gguf.GGMLQuantizationType[qtype]
    path = Path(path)

    def write(tmp: Path) -> None:
        writer = gguf.GGUFWriter(str(tmp), architecture)
        if name:
            writer.add_name(name)
        writer.add_tokenizer_model(tokenizer_model)
        writer.add_token_list(tokens)
        writer.add_token_types(token_types or [1] * len(tokens))
        if merges:
            writer.add_token_merges(merges)
        if scores is not None:
            writer.add_token_scores(scores)
        for tensor_name, matrix in (("token_embd.weight", u), ("output.weight", v)):
            if matrix is None:
                continue
            data = np.ascontiguousarray(matrix, dtype=np.float32)
            if qtype == "F32":
                writer.add_tensor(tensor_name, data)
            elif qtype == "F16":
                writer.add_tensor(tensor_name, data.astype(np.float16))
            else:
                try:
                    writer.add_tensor(tensor_name, quantize(data, kind), raw_dtype=kind)
                except Exception as err:  # gguf's QuantError: a width that is no multiple of the block size
                    raise EmbedevalError(f"cannot quantise {tensor_name} {list(data.shape)} to {qtype} ({err}): the "
                                         "quantised types need a width that is a multiple of their block (32 values); "
                                         "F32, F16 and BF16 take any width", path) from None  # fmt: skip
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()

    return atomic_write(path, write)


def gguf_from_source(source: str | Path, target: str | Path, qtype: str = "F32") -> Path:
    """U and V (or S) of a model folder with a byte-level BPE ``tokenizer.json`` (what llama.cpp's converter writes
    for GPT-2-style models: token list, types, merges) or of an embedeval run (its word vocabulary), as GGUF."""
    import json

    from embedeval.embeddings.pretrained import read_pretrained

    source = Path(source)
    if (source / "tokenizer.json").is_file():
        model = read_pretrained(source)
        try:
            spec = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
            if spec["model"]["type"] != "BPE":
                raise KeyError("type")
            vocab = dict(spec["model"]["vocab"])
            merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise EmbedevalError("tokenizer.json: only byte-level BPE vocabularies (GPT-2's kind) are written as GGUF "
                                 "here", source / "tokenizer.json") from None  # fmt: skip
        special = set()
        for added in spec.get("added_tokens") or []:
            vocab[added["content"]] = added["id"]
            if added.get("special"):
                special.add(added["content"])
        tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        types = [3 if t in special else 1 for t in tokens]  # 3: control
        u = np.asarray(model.input)[: len(tokens)]
        v = None if model.tied_by_weights else np.asarray(model.output)[: len(tokens)]
        return write_gguf(target, u, v, tokens, qtype, "gpt2", merges, types, architecture=model.model_type or "gpt2",
                          name=source.name)  # fmt: skip
    from embedeval.embeddings import load

    found = {e.role: e for e in load(source)}
    if "tied" in found:
        u, v, words = found["tied"].vectors, None, found["tied"].words
    elif "input" in found and "output" in found and found["input"].words == found["output"].words:
        u, v, words = found["input"].vectors, found["output"].vectors, found["input"].words
    else:
        raise EmbedevalError("neither a model folder with a byte-level BPE tokenizer.json nor a run whose U and V (or S) "
                             "share one vocabulary", source)  # fmt: skip
    return write_gguf(target, np.asarray(u), None if v is None else np.asarray(v), list(words), qtype,
                      name=source.name)  # fmt: skip
