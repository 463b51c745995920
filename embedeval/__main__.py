"""``python -m embedeval``: the command line (what ``torchrun ... -m embedeval`` starts in every process)."""

from embedeval.cli import main

if __name__ == "__main__":
    main()
