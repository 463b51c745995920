"""embedeval: input and output word embeddings, weight tying, and how the tied matrix evolves."""

__version__ = "0.1.0"
