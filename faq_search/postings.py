"""Random access into long postings: is item i in column c, and with what value?

A query's frequent terms (怎么, 的) have postings as long as a large share of the index. Reading them
whole, or binary-searching them once per term, is where a lexical stage's time goes. A presence
bitmap per frequent column answers "which of these items does the column hold" for all the query's
frequent terms and all candidates in a dozen NumPy calls; a running count of set bits turns an
item's bit into its position in the column's postings, so the stored value is one gather away.

Memory: 1/4 byte per item per frequent column (the bitmap, and a count per 64 items).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Columns are turned into bitmaps this many at a time, bounding the dense boolean scratch.
_CHUNK = 64


class FrequentPostings:
    """Bitmaps of the columns of a CSC matrix holding more than ``min_df`` entries."""

    def __init__(self, matrix: sp.csc_matrix, min_df: int):
        indptr, indices = matrix.indptr, matrix.indices
        self.data = matrix.data
        n_items, n_cols = matrix.shape
        lengths = np.diff(indptr)
        cols = np.flatnonzero(lengths > min_df)
        self.slot = np.full(n_cols, -1, np.int32)
        self.slot[cols] = np.arange(cols.size, dtype=np.int32)
        self.starts = indptr[cols].astype(np.int64)
        n_words = -(-n_items // 64)
        bits = np.zeros((cols.size, n_words), np.uint64)
        for first in range(0, cols.size, _CHUNK):
            chunk = cols[first : first + _CHUNK]
            dense = np.zeros((chunk.size, n_words * 64), bool)
            counts = lengths[chunk]
            owner = np.arange(chunk.size).repeat(counts)
            offsets = (indptr[chunk] - np.cumsum(counts) + counts).repeat(counts) + np.arange(int(counts.sum()))
            dense[owner, indices[offsets]] = True
            bits[first : first + chunk.size] = np.packbits(dense, axis=1, bitorder="little").view("<u8")
        ones = np.bitwise_count(bits)
        # Each 64-item word beside the count of set bits before it (with the word's own bits below
        # an item, the item's rank): one gather, one cache line, reads both.
        self.table = np.empty((cols.size, n_words, 2), np.uint64)
        self.table[..., 0] = bits
        self.table[..., 1] = np.cumsum(ones, axis=1, dtype=np.uint64) - ones

    @property
    def nbytes(self) -> int:
        return self.table.nbytes + self.slot.nbytes + self.starts.nbytes

    def covers(self, cols: np.ndarray) -> np.ndarray:
        """Mask of the columns that have a bitmap."""
        return self.slot[cols] >= 0

    def values(self, cols: np.ndarray, items: np.ndarray) -> np.ndarray:
        """(len(cols) × len(items)) stored values, 0 where a column lacks the item. Every column
        must have a bitmap (see ``covers``)."""
        slots = self.slot[cols][:, None]
        word = items >> 6
        shift = (items & 63).astype(np.uint64)
        pair = self.table[slots, word]
        held = pair[..., 0]
        present = ((held >> shift) & np.uint64(1)).astype(bool)
        rank = pair[..., 1] + np.bitwise_count(held & ((np.uint64(1) << shift) - np.uint64(1)))
        out = np.zeros(held.shape)
        out[present] = self.data[(rank + self.starts[slots].astype(np.uint64))[present]]
        return out
