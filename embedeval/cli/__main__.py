"""``python -m embedeval.cli``."""

from embedeval.cli import main

if __name__ == "__main__":
    main()
