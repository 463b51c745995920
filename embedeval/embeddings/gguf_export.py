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
                    raise EmbedevalError(f"cannot quantise {tensor_name} {list(data.shape)} to {qtype} ({err})",
                                         path) from None  # fmt: skip
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()

    return atomic_write(path, write)
