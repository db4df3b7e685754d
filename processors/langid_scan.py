"""py3langid's classification with its byte n-gram scan done by numpy: the same scores, bit for bit.

py3langid reads a text one byte at a time through a DFA (an Aho-Corasick automaton over the model's
byte n-grams) in a Python loop: most of the cost of identifying a language. The automaton's state
after a byte is the longest suffix of the text read so far that is a node of its trie; no node is
deeper than the longest n-gram, so that state depends only on the last `depth` bytes. Reading every
window of `depth` bytes from the root therefore gives the state at every position, and numpy does
that for all positions at once, `depth` steps in all instead of one per byte.

The features are then counted in the order they first occur, as py3langid's Counter does, so that
its float32 dot product adds the same numbers in the same order. Tests compare the classes and raw
scores with py3langid's own on the corpora and on random text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

_MAX_DEPTH = 16  # a model with deeper n-grams than this keeps py3langid's own loop


def _trie_depth(nextmove: npt.NDArray[np.uint32], row: npt.NDArray[np.uint16], states: int) -> int:
    """The number of bytes after which the automaton's state no longer depends on earlier ones:
    the largest breadth-first distance of a state from the root (walked row by row: states that
    share a row share their moves)."""
    moves = nextmove.reshape(-1, 256)
    seen = np.zeros(states, dtype=bool)
    seen[0] = True
    rows = np.array([row[0]], dtype=np.intp)
    depth = 0
    while True:
        reached = np.zeros(states, dtype=bool)
        reached[moves[rows].ravel()] = True
        reached &= ~seen
        new = reached.nonzero()[0]
        if not new.size:
            return depth
        depth += 1
        if depth > _MAX_DEPTH:
            return depth
        seen |= reached
        wanted = np.zeros(moves.shape[0], dtype=bool)
        wanted[row[new]] = True
        rows = wanted.nonzero()[0]


class ByteScanner:
    """The features a py3langid model sees in UTF-8 bytes: (feature indexes in order of first
    occurrence, their counts as float32), exactly what its Counter of DFA outputs holds."""

    def __init__(self, nextmove: Any, row: Any, output: Any) -> None:
        next_state = np.asarray(nextmove, dtype=np.uint32)
        rows = np.asarray(row, dtype=np.uint16)
        state_output = np.asarray(output, dtype=np.intp)
        states = len(rows)
        if next_state.size % 256 or len(state_output) != states or int(next_state.max()) >= states:
            raise ValueError("not a byte DFA")
        if int(state_output.max()) >= 1 << 31:
            raise ValueError("feature indexes beyond int32")
        # The walk pads the text with zero bytes: they must keep the automaton at its root, and the
        # root must count nothing.
        if int(next_state[int(rows[0]) << 8]) != 0 or state_output[0] >= 0:
            raise ValueError("byte 0 leaves the root")
        self._features = int(state_output.max()) + 1  # feature indexes are below this
        self.depth = _trie_depth(next_state, rows, states)
        if self.depth > _MAX_DEPTH:
            raise ValueError(f"n-grams of {self.depth} bytes")
        self._pad = bytes(self.depth - 1)
        # Two tables indexed like the DFA's moves (row base + byte), so that each step of the walk
        # is one take (numpy's cost per call dominates on a short sample), in int32 (any uint16
        # row << 8 fits): the row base of the state a move leads to, and the feature that state
        # counts (-1 for none). Built in slices: no table-sized index array is made at once.
        self._next_base = np.empty(next_state.size, dtype=np.int32)
        self._next_feature = np.empty(next_state.size, dtype=np.int32)
        for lo in range(0, next_state.size, 1 << 20):
            moves = next_state[lo : lo + (1 << 20)]
            self._next_base[lo : lo + len(moves)] = rows.take(moves)
            self._next_feature[lo : lo + len(moves)] = state_output.take(moves)
        self._next_base <<= 8

    def features(self, data: bytes) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]] | None:
        """None when the bytes hold no feature. The indexes are int32: as numpy indexes, the same."""
        if not data:
            return None
        found = self._walk(np.frombuffer(self._pad + data, dtype=np.uint8).astype(np.int32))
        found = found[found >= 0]
        if not found.size:
            return None
        kept, counts = _first_occurrences(found.astype(np.int64))
        return found[kept], counts

    def _walk(self, padded: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
        """The feature counted (-1 for none) at the end of each window of `depth` bytes of `padded`:
        the row base of the state after each window's first byte (read from row 0: after `depth`
        bytes the state no longer depends on where the walk began), then after each following byte."""
        n = len(padded) - (self.depth - 1)
        next_base = self._next_base
        base = next_base.take(padded[:n])
        for k in range(1, self.depth - 1):
            base += padded[k : k + n]
            base = next_base.take(base)
        base += padded[self.depth - 1 :]
        return self._next_feature.take(base)

    def features_many(self, datas: list[bytes]) -> list[tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]] | None]:
        """`features` of each of `datas`, read in one walk: numpy's cost per call, most of the cost
        of a sample of a few hundred bytes, is paid once for the whole list. The texts are joined by
        `depth` - 1 zero bytes, as `features` pads one text: each window is read from the root, so a
        window of one text never reaches into the one before."""
        if not datas:
            return []
        pad = self._pad
        lengths = np.fromiter(map(len, datas), dtype=np.int64, count=len(datas))
        # Text i's windows, then the len(pad) windows that end on the zero bytes after it and belong
        # to no text (the last text's are not read: the joined bytes end with it).
        padded = np.frombuffer(pad + pad.join(datas), dtype=np.uint8).astype(np.int32)
        found = self._walk(padded)  # window i ends at byte len(pad) + i
        spans = np.empty(2 * len(datas), dtype=np.int64)
        spans[0::2], spans[1::2] = lengths, len(pad)
        inside = np.repeat(np.tile(np.array([True, False]), len(datas)), spans)[: found.size]
        text = np.repeat(np.arange(len(datas), dtype=np.int64), lengths + len(pad))[: found.size]
        position = np.flatnonzero(inside & (found >= 0))
        if not position.size:
            return [None] * len(datas)
        found, text = found[position], text[position]
        # Grouped by (text, feature): the features of a text in the order they first occur (as
        # `features`), text after text.
        kept, count = _first_occurrences(text * self._features + found)
        index, owner = found[kept], text[kept]
        cuts = np.searchsorted(owner, np.arange(len(datas) + 1), side="left")
        out: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]] | None] = []
        for i in range(len(datas)):
            lo, hi = cuts[i], cuts[i + 1]
            out.append((index[lo:hi], count[lo:hi]) if hi > lo else None)
        return out


def _first_occurrences(group: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Where each value of `group` (non-negative) first occurs, in order, and how many times it
    occurs (float32, as py3langid counts)."""
    # One sort of (value, index) packed in an int64: numpy sorts plain integers far faster than it
    # sorts indexes stably (argsort, lexsort), and each value's first element is then its first
    # occurrence.
    bits = max(1, (group.size - 1).bit_length())
    if int(group.max()) >= 1 << (62 - bits):
        first_at = np.argsort(group, kind="stable")  # too large to pack: the same grouping, slower
        ordered = group[first_at]
    else:
        packed = (group << bits) | np.arange(group.size, dtype=np.int64)
        packed.sort()
        ordered, first_at = packed >> bits, packed & ((1 << bits) - 1)
    edges = np.empty(group.size + 1, dtype=bool)
    edges[0] = edges[-1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=edges[1:-1])
    bounds = edges.nonzero()[0]
    counts = np.zeros(group.size, dtype=np.float32)
    counts[first_at[bounds[:-1]]] = np.subtract(bounds[1:], bounds[:-1])
    kept = counts.nonzero()[0]
    return kept, counts[kept]


def fast_identifier(model_file: str) -> Any:
    """py3langid's LanguageIdentifier for `model_file` (raw scores, no normalisation), its byte
    scan done by ByteScanner; py3langid's own when its model is not the kind described above."""
    from py3langid.langid import LanguageIdentifier

    class _Identifier(LanguageIdentifier):
        __slots__ = ("_rows", "scanner")
        _rows: npt.NDArray[np.float32] | None
        scanner: ByteScanner

        def set_languages(self, langs: Any = None) -> None:
            super().set_languages(langs)
            self._rows = None

        def _raw_score(self, text: bytes) -> Any:
            return self._scores(text, self.scanner.features(text))

        def _scores(self, text: bytes, found: Any) -> Any:
            if found is None:
                return super()._raw_score(text)  # py3langid's floor for featureless text
            index, counts = found
            rows = self._rows
            if rows is None:
                # nb_ptc row by row in float32: a feature's scores in one cache line, not one per
                # language (py3langid's table is column-major after set_languages), and no cast of
                # float16 at each text. The values are the same, so the dot product is too.
                rows = self._rows = np.ascontiguousarray(self.nb_ptc, dtype=np.float32)
            # py3langid's _sparse_score with the same arrays, so the same float32 sums.
            return np.log1p(counts) @ rows.take(index, axis=0) + self.nb_pc

        def classify_many(self, texts: list[str]) -> list[str]:
            """`classify(text)[0]` of each text, their byte scans done in one walk."""
            from py3langid.langid import RAW_FLOOR

            encoded = [self._encode(text) for text in texts]
            out = []
            for data, found in zip(encoded, self.scanner.features_many(encoded), strict=True):
                scores = self._scores(data, found)
                # py3langid's _decide without normalisation: aliased columns folded into the first
                for i, j in self._alias_pairs:
                    scores[i] = max(scores[i], scores[j])
                    scores[j] = RAW_FLOOR
                out.append(self.nb_classes[int(scores.argmax())])
            return out

    identifier = _Identifier.from_model_file(model_file, norm_probs=False)
    identifier._rows = None
    try:
        identifier.scanner = ByteScanner(identifier.tk_nextmove, identifier.tk_row, identifier.tk_output)
    except (AttributeError, TypeError, ValueError):
        return LanguageIdentifier.from_model_file(model_file, norm_probs=False)
    return identifier
