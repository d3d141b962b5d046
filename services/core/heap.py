"""Keep the garbage collector off the heap a process builds at startup.

A loaded model, torch, transformers and the app leave several hundred thousand long-lived objects
tracked by the collector. Every full collection walks all of them, and a request that allocates many
containers (a 2 MB JSON body is ~150,000 dicts and lists) triggers several: parsing such a body took
1.27 s with them in the heap and 0.22 s without (the same body, the same process, load average 9;
``python -c`` in the commit that added this). ``gc.freeze()`` moves everything alive now into a
permanent generation the collector skips; what requests allocate later is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect once, then exempt every surviving object from later collections. Returns how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw_heap() -> None:
    """Undo ``freeze_startup_heap`` when the process's runtime is closed (tests build many in one process),
    so what the closed runtime left behind can be collected again."""
    gc.unfreeze()
