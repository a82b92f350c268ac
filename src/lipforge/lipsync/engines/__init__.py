"""One room per lip-sync engine; each `<name>/engine.py` registers its engine when imported.

The registry (`lipsync/engine.py`) imports `<room>/engine.py` for every folder here, so
adding an engine is copying a folder: `cp -r meshwarp myengine`, then in
`myengine/engine.py` give the class its own `name`, the registry names of its weights in
`model_names` (() for none; check them in `load`, before any frame), and the audio
features it reads in `needs` (`Need.MEL`, `Need.LOUDNESS`, `Need.PHONES`: the pipeline
computes only those). Everything only that engine uses (its crops, its model inputs, its
mouth shapes) stays in its folder; a room never imports another room (add it to the
independence contract of `[tool.importlinter]` in pyproject.toml). Add the engine's models
setup to `MODEL_SETUPS` in `tests/lipsync/test_engine_contract.py`, which runs the same
contract against every registered engine.
"""
