"""argon2 runs off the eventlet hub: other green threads keep running while a password is hashed."""
import eventlet
from argon2 import PasswordHasher

from guichet_accounts.adapters.hashing import OffloadedHasher, offloaded_hasher

SLOW = dict(time_cost=8, memory_cost=32 * 1024, parallelism=1)  # long enough to see the hub at work


def ticks_during(hash_call) -> int:
    ticks = []
    running = [True]

    def ticker():
        while running[0]:
            ticks.append(1)
            eventlet.sleep(0.002)

    spawned = eventlet.spawn(ticker)
    eventlet.sleep(0)  # the ticker starts
    before = len(ticks)
    hash_call()
    during = len(ticks) - before
    running[0] = False
    spawned.wait()
    return during


def test_a_plain_hasher_blocks_the_hub_and_the_offloaded_one_does_not():
    plain, offloaded = PasswordHasher(**SLOW), OffloadedHasher(**SLOW)
    assert ticks_during(lambda: plain.hash("Soleil2026!x")) == 0
    assert ticks_during(lambda: offloaded.hash("Soleil2026!x")) >= 3
    stored = plain.hash("Soleil2026!x")
    assert ticks_during(lambda: offloaded.verify(stored, "Soleil2026!x")) >= 3


def test_the_offloaded_hasher_gives_ordinary_argon2id_hashes():
    hasher = offloaded_hasher()
    stored = hasher.hash("Soleil2026!x")
    assert stored.startswith("$argon2id$") and PasswordHasher().verify(stored, "Soleil2026!x")
    assert hasher.verify(PasswordHasher().hash("Lune2027!abc"), "Lune2027!abc")
