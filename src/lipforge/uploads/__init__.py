"""tus 1.0 resumable uploads: the protocol router, the file store, and the client.

router.py dispatches by method to creation.py (POST), head.py (HEAD, GET), patch.py
(PATCH), termination.py (DELETE); body.py streams bytes to the store off the event
loop; locks.py lets a newer request take over from a stalled one; completion.py
turns finished uploads into assets; cleaner.py removes expired ones; errors.py is
the error table; filestore.py implements the store contract of store.py;
client.py is the client `lipforge upload` and `lipforge submit` use.
"""
