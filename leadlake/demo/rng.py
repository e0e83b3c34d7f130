"""Deterministic randomness keyed by (seed, entity id, purpose).

Every value the demo generator draws is a pure function of the seed, the
entity's id and a salt naming what is drawn. Tables therefore come out the
same whatever the number of partitions or executors, and a lead's hidden
traits can be recomputed by every table generator without a join.
"""

from __future__ import annotations

import zlib

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _salt(salt: str) -> np.uint64:
    return np.uint64(zlib.crc32(salt.encode()) * 2654435761 % (1 << 63))


def hash64(seed: int, ids: np.ndarray, salt: str) -> np.ndarray:
    """splitmix64 of (seed, id, salt): uniform 64-bit integers, one per id."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) * _GOLDEN + np.uint64(seed) * _M2 + _salt(salt)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def uniform(seed: int, ids: np.ndarray, salt: str) -> np.ndarray:
    """Uniform floats in [0, 1)."""
    return (hash64(seed, ids, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def normal(seed: int, ids: np.ndarray, salt: str) -> np.ndarray:
    """Standard normals (Box-Muller on two keyed uniforms)."""
    u1 = np.clip(uniform(seed, ids, salt + "/a"), 1e-12, 1.0)
    u2 = uniform(seed, ids, salt + "/b")
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)


def choice(seed: int, ids: np.ndarray, salt: str, weights: dict[str, float]) -> np.ndarray:
    """One weighted category per id."""
    names = np.array(list(weights))
    cum = np.cumsum(np.array(list(weights.values()), dtype=float))
    idx = np.searchsorted(cum / cum[-1], uniform(seed, ids, salt), side="right")
    return names[np.minimum(idx, len(names) - 1)]


def row_seed(seed: int, entity_id: int, salt: str) -> int:
    """A seed for ``random.Random`` when one entity needs a sequence of draws."""
    return int(hash64(seed, np.array([entity_id]), salt)[0])
