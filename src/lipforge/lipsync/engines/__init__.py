"""One room per lip-sync engine; each `<name>/engine.py` registers its engine when imported."""
