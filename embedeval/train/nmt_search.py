"""Decoding a trained translation model: greedy (validation during training) and beam search (the final test).

Both decode one position at a time with cached decoder keys and values, so a sentence of T pieces costs T decoder
steps rather than T^2 / 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from embedeval.embeddings.subword import BOS, EOS, PAD
from embedeval.train.nmt_model import Seq2Seq


def pad_batch(seqs: list[list[int]], device: str = "cpu") -> torch.Tensor:
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out.to(device)


@torch.no_grad()
def greedy(model: Seq2Seq, src: torch.Tensor, max_len: int) -> list[list[int]]:
    """The most probable next piece at every step, until </s> or ``max_len`` pieces."""
    memory, mask = model.encode(src)
    kv = model.memory_kv(memory)
    caches: list[dict[str, torch.Tensor]] = [{} for _ in model.decoder_layers]
    n = src.size(0)
    last = torch.full((n, 1), BOS, dtype=torch.long, device=src.device)
    out = torch.zeros((n, 0), dtype=torch.long, device=src.device)
    done = torch.zeros(n, dtype=torch.bool, device=src.device)
    for t in range(max_len):
        logits = model.logits(model.decode(last, kv, mask, caches, start=t))[:, -1]
        last = logits.argmax(-1, keepdim=True)
        out = torch.cat([out, last], dim=1)
        done |= last.squeeze(1) == EOS
        if bool(done.all()):
            break
    return [_until_eos(row) for row in out.tolist()]


def _until_eos(ids: list[int]) -> list[int]:
    return ids[: ids.index(EOS)] if EOS in ids else ids


@torch.no_grad()
def beam_search(
    model: Seq2Seq, src: torch.Tensor, beam: int, max_len: int, len_penalty: float = 1.0
) -> list[list[int]]:
    """Beam search; a finished hypothesis is ranked by log-probability / length ** ``len_penalty`` (its length
    counting </s>). A sentence stops once ``beam`` hypotheses have ended; at ``max_len`` the live ones end too."""
    n, device = src.size(0), src.device
    memory, mask = model.encode(src)
    memory, mask = memory.repeat_interleave(beam, 0), mask.repeat_interleave(beam, 0)
    kv = model.memory_kv(memory)
    caches: list[dict[str, torch.Tensor]] = [{} for _ in model.decoder_layers]
    tokens = torch.full((n * beam, 1), BOS, dtype=torch.long, device=device)
    scores = torch.zeros(n, beam, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: expand the first one only
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(n)]
    for t in range(max_len):
        logp = F.log_softmax(model.logits(model.decode(tokens[:, -1:], kv, mask, caches, start=t))[:, -1].float(), -1)
        vocab = logp.size(-1)
        logp[:, PAD] = float("-inf")
        cand = (scores.view(-1, 1) + logp).view(n, beam * vocab)
        top_scores, top_index = cand.topk(2 * beam, dim=1)
        origin, token = top_index // vocab, top_index % vocab
        new_origin = torch.zeros(n, beam, dtype=torch.long, device=device)
        new_token = torch.full((n, beam), EOS, dtype=torch.long, device=device)
        new_scores = torch.full((n, beam), float("-inf"), device=device)
        rows_s, rows_o, rows_t = top_scores.tolist(), origin.tolist(), token.tolist()
        history = tokens[:, 1:].tolist()
        for i in range(n):
            if len(finished[i]) >= beam:
                continue  # this sentence is done; its beams are kept at -inf
            kept = 0
            for s, o, tok in zip(rows_s[i], rows_o[i], rows_t[i]):
                if s == float("-inf"):
                    break
                if tok == EOS:
                    hyp = history[i * beam + o]
                    finished[i].append((s / (len(hyp) + 1) ** len_penalty, hyp))
                    if len(finished[i]) >= beam:
                        break
                else:
                    new_origin[i, kept], new_token[i, kept], new_scores[i, kept] = o, tok, s
                    kept += 1
                    if kept == beam:
                        break
        if all(len(f) >= beam for f in finished):
            break
        select = (torch.arange(n, device=device)[:, None] * beam + new_origin).view(-1)
        tokens = torch.cat([tokens[select], new_token.view(-1, 1)], dim=1)
        scores = new_scores
        for cache in caches:
            cache["k"], cache["v"] = cache["k"][select], cache["v"][select]
    else:  # max_len reached: the live hypotheses end here
        history = tokens[:, 1:].tolist()
        for i in range(n):
            if len(finished[i]) < beam:
                for b in range(beam):
                    s = float(scores[i, b])
                    if s != float("-inf"):
                        finished[i].append((s / (len(history[i * beam + b]) + 1) ** len_penalty, history[i * beam + b]))
    return [max(f, key=lambda pair: pair[0])[1] if f else [] for f in finished]


def translate(
    model: Seq2Seq,
    sources: list[list[int]],
    max_len: int,
    beam: int = 1,
    len_penalty: float = 1.0,
    batch_sentences: int = 64,
    device: str = "cpu",
    progress=None,
) -> list[list[int]]:
    """Piece ids of the translations of ``sources`` (piece ids, without </s>), in their order. Sentences are decoded
    in batches of similar length; ``max_len`` bounds each output at source length + 50 as well."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out: list[list[int]] = [[] for _ in sources]
    for start in range(0, len(order), batch_sentences):
        idx = order[start : start + batch_sentences]
        src = pad_batch([sources[i][: max_len - 1] + [EOS] for i in idx], device)
        limit = min(max_len, src.size(1) + 50)
        hyps = greedy(model, src, limit) if beam == 1 else beam_search(model, src, beam, limit, len_penalty)
        for i, hyp in zip(idx, hyps):
            out[i] = hyp
        if progress is not None:
            progress(len(idx))
    model.train(was_training)
    return out
