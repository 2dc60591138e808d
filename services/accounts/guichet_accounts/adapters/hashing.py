"""argon2id off the eventlet hub.

One hash or verification costs about 0.1 s of CPU (64 MiB, t=3). argon2-cffi
releases the GIL during it, but under eventlet a call that does not yield
stops every other green thread of the process: during a burst of logins, even
``GET /me`` and the health RPC waited. ``OffloadedHasher`` runs the work in
eventlet's pool of OS threads (``tpool``), so the hub keeps serving and the
two cores share the hashing. The pool is small: each hash holds 64 MiB.
"""
from __future__ import annotations

import os

from argon2 import PasswordHasher
from eventlet import tpool

HASHING_THREADS = int(os.environ.get("EVENTLET_THREADPOOL_SIZE", "4"))


class OffloadedHasher(PasswordHasher):
    def hash(self, password, *, salt=None):
        return tpool.execute(super().hash, password, salt=salt)

    def verify(self, hash, password):  # the names of argon2-cffi's signature, which callers may use
        return tpool.execute(super().verify, hash, password)


def offloaded_hasher() -> OffloadedHasher:
    tpool.set_num_threads(HASHING_THREADS)  # before the pool's first use; later calls change nothing
    return OffloadedHasher()
