"""The built-in example: SGNS input and output embeddings trained on the built-in corpus in seconds."""

from __future__ import annotations

from embedeval.embeddings.embedding import Embedding


def example_embeddings(seed: int = 1, epochs: int = 10, dim: int = 50) -> list[Embedding]:
    """U and V of a gensim skip-gram model on the Lee corpus (one worker: same seed, same numbers)."""
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    from embedeval.data.builtin import builtin_corpus_path

    path = builtin_corpus_path()
    model = Word2Vec(
        LineSentence(str(path)),
        vector_size=dim,
        window=5,
        negative=5,
        sg=1,
        min_count=2,
        epochs=epochs,
        seed=seed,
        workers=1,
    )
    words = list(model.wv.index_to_key)
    source = f"example: gensim SGNS on {path.name}"
    return [
        Embedding(words, model.wv.vectors, name="example:input", source=source, role="input", model="sgns-gensim"),
        Embedding(words, model.syn1neg, name="example:output", source=source, role="output", model="sgns-gensim"),
    ]
