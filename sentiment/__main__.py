"""``python -m sentiment train|classify``: the model commands without the main CLI.

The same commands as ``qtrace sentiment …`` (they need no graph store or settings).
"""

from sentiment.cli import sentiment_group

if __name__ == "__main__":
    sentiment_group(prog_name="python -m sentiment")
