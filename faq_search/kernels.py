"""The search's inner loops, compiled with Numba.

The NumPy form of the first stage (``Searcher._lexical``) spends most of a query in the fixed cost
of ~150 NumPy calls (≈ 0.3 ms whatever the index size), not in arithmetic. Here the same steps run
as plain loops in one compiled call (``lexical_stage``): sum the rare terms' postings into a per-row
buffer, keep the best ``rescore_rows`` rows, score them exactly against every query term through the
row-major matrix, pick each article's best row and score its answer. ``article_features`` does the
same for the second stage's article-level inputs.

The NumPy forms stay as the reference (and serve filters and training); tests check that both give
the same candidates and features. Imported on first use (Numba itself takes ≈ 0.3 s and 65 MiB);
compiled code is cached beside this module (``cache=True``): the first process compiles (≈ 5–10 s),
later ones load it. No bounds checks (+16 %): indices come from a checksummed index and the
buffers are sized to it.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


def _jit(fn):
    return njit(cache=True, nogil=True)(fn)


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to start loading ``array[index]`` (LLVM's prefetch: a hint, never a fault, so an
    index out of range is harmless). The loops below read rows and slots a few items ahead: their
    addresses come from other loads, which out-of-order execution alone overlaps only a little."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer)):
        return None
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])  # read, keep in all caches, data
        return context.get_dummy_value()

    return sig, codegen


@_jit
def _prefetched_sum(values):
    total = 0.0
    for i in range(values.size):
        _prefetch(values, i + 1)
        total += values[i]
    return total


def check() -> None:
    """Compile (or load) a loop using ``_prefetch``: an LLVM that no longer knows the intrinsic fails
    here, on import (search.py then serves the NumPy forms), not in every query."""
    if _prefetched_sum(np.ones(4)) != 4.0:
        raise RuntimeError("compiled prefetch loop gave a wrong sum")


@_jit
def _rare_terms(indptr, cols, cap):
    """Which query terms generate candidates: those in at most ``cap`` rows, else the two rarest."""
    n = cols.size
    rare = np.zeros(n, np.bool_)
    if n == 0:
        return rare
    df = np.empty(n, np.int64)
    any_rare = False
    for i in range(n):
        df[i] = indptr[cols[i] + 1] - indptr[cols[i]]
        if df[i] <= cap:
            rare[i] = True
            any_rare = True
    if not any_rare:
        limit = np.sort(df)[min(1, n - 1)]
        for i in range(n):
            rare[i] = df[i] <= limit
    return rare


@_jit
def _accumulate(indptr, indices, data, cols, weights, rare, acc, skip, exclude_row):
    """Sum the rare terms' postings into ``acc``. No branch reads ``acc``: the rows are listed
    afterwards (``_collect``), so the loads of a cold ``acc`` overlap instead of waiting on each
    other behind mispredicted branches."""
    for t in range(cols.size):
        if not rare[t]:
            continue
        w = weights[t]
        end = indptr[cols[t] + 1]
        for k in range(indptr[cols[t]], end):
            if k + 16 < end:
                _prefetch(acc, indices[k + 16])
            row = indices[k]
            if row == exclude_row or (skip.size and skip[row]):
                continue
            acc[row] += data[k] * w


@_jit
def _collect(indptr, indices, cols, rare, acc, touched, partial, n_touched):
    """List the rows ``_accumulate`` summed, in the order they are first met, with their sums, and
    zero ``acc`` behind them (a row listed once: its sum is 0 after). Rows whose sum is 0 (skipped,
    or only zero values) are not listed."""
    for t in range(cols.size):
        if not rare[t]:
            continue
        for k in range(indptr[cols[t]], indptr[cols[t] + 1]):
            row = indices[k]
            value = acc[row]
            if value != 0.0:
                touched[n_touched] = row
                partial[n_touched] = value
                n_touched += 1
                acc[row] = 0.0
    return n_touched


@_jit
def lexical_stage(w_indptr, w_indices, w_data, w_cols, w_weights, w_field,
                  c_indptr, c_indices, c_data, c_cols, c_weights, c_field,
                  cap, rescore_rows, acc, touched, skip, exclude_row,
                  rm_indptr, rm_indices, rm_data, lut, weights, coverage, n_word,
                  row_article,
                  a_indptr, a_indices, a_data, a_cols, a_weights, a_coverage, slot,
                  bit_slot, bit_table, bit_starts, answer_weight, limit, min_score):
    """How many articles matched, then their candidates, one per article: articles, best rows, score,
    question, word, char, answer, word_cov, char_cov, answer_cov, support, in article order. With
    ``limit`` ≥ 0, only the best ``limit`` scoring ≥ ``min_score`` (of equal scores, the lower
    articles). ``acc`` (zeros, one per row) and ``slot`` (−1, one per article) are left as they were
    found."""
    # 1. Rare terms' postings summed per row, then the rows listed in the order first met.
    w_rare = _rare_terms(w_indptr, w_cols, cap)
    c_rare = _rare_terms(c_indptr, c_cols, cap)
    ww = w_weights * w_field
    cw = c_weights * c_field
    _accumulate(w_indptr, w_indices, w_data, w_cols, ww, w_rare, acc, skip, exclude_row)
    _accumulate(c_indptr, c_indices, c_data, c_cols, cw, c_rare, acc, skip, exclude_row)
    entries = 0
    for t in range(w_cols.size):
        if w_rare[t]:
            entries += w_indptr[w_cols[t] + 1] - w_indptr[w_cols[t]]
    for t in range(c_cols.size):
        if c_rare[t]:
            entries += c_indptr[c_cols[t] + 1] - c_indptr[c_cols[t]]
    partial = np.empty(min(entries, touched.size))
    n_touched = _collect(w_indptr, w_indices, w_cols, w_rare, acc, touched, partial, 0)
    n_touched = _collect(c_indptr, c_indices, c_cols, c_rare, acc, touched, partial, n_touched)
    # 2. The best rescore_rows of them, ranked by (sum desc, row asc), in row order. A histogram
    # over [0, max] finds the bucket holding the cut, and only that bucket is sorted.
    top_sum = 0.0
    for i in range(n_touched):
        top_sum = max(top_sum, partial[i])
    if n_touched <= rescore_rows:
        rows = np.sort(touched[:n_touched])
    elif top_sum <= 0.0:  # every sum 0: the lowest rows
        rows = np.sort(touched[:n_touched])[:rescore_rows]
    else:
        n_buckets = 1024
        scale = n_buckets / top_sum
        counts = np.zeros(n_buckets + 1, np.int64)
        for i in range(n_touched):
            counts[min(np.int64(partial[i] * scale), n_buckets)] += 1
        cut = n_buckets
        above = 0
        while above + counts[cut] < rescore_rows:
            above += counts[cut]
            cut -= 1
        rows = np.empty(rescore_rows, np.int64)
        at_cut_rows = np.empty(counts[cut], np.int64)
        at_cut_sums = np.empty(counts[cut])
        n = 0
        m = 0
        for i in range(n_touched):
            b = min(np.int64(partial[i] * scale), n_buckets)
            if b > cut:
                rows[n] = touched[i]
                n += 1
            elif b == cut:
                at_cut_rows[m] = touched[i]
                at_cut_sums[m] = partial[i]
                m += 1
        by_row = np.argsort(at_cut_rows)
        at_cut_rows, at_cut_sums = at_cut_rows[by_row], at_cut_sums[by_row]
        best_first = np.argsort(-at_cut_sums, kind="mergesort")  # stable: equal sums keep row order
        for i in range(rescore_rows - n):
            rows[n + i] = at_cut_rows[best_first[i]]
        rows = np.sort(rows)
    n_rows = rows.size
    # 3. Exact dot products and covered query weight of each row, word and char terms apart.
    word = np.zeros(n_rows)
    char = np.zeros(n_rows)
    word_cov = np.zeros(n_rows)
    char_cov = np.zeros(n_rows)
    # Rows are far apart: their bounds are fetched 8 rows ahead, their terms 4 rows ahead.
    for i in range(min(n_rows, 8)):
        _prefetch(rm_indptr, rows[i])
    for i in range(n_rows):
        if i + 8 < n_rows:
            _prefetch(rm_indptr, rows[i + 8])
        if i + 4 < n_rows:
            ahead = rm_indptr[rows[i + 4]]
            _prefetch(rm_indices, ahead)
            _prefetch(rm_data, ahead)
        r = rows[i]
        for k in range(rm_indptr[r], rm_indptr[r + 1]):
            t = lut[rm_indices[k]]
            if t < 0:
                continue
            if t < n_word:
                word[i] += rm_data[k] * weights[t]
                word_cov[i] += coverage[t]
            else:
                char[i] += rm_data[k] * weights[t]
                char_cov[i] += coverage[t]
    combined = w_field * word + c_field * char
    # 4. Each article's best row (the first of equals) and its paraphrase support; rows sorted,
    # and stored article by article, so an article's rows are consecutive.
    n_arts = 0
    for i in range(n_rows):
        if i == 0 or row_article[rows[i]] != row_article[rows[i - 1]]:
            n_arts += 1
    arts = np.empty(n_arts, np.int64)
    best = np.empty(n_arts, np.int64)
    support = np.zeros(n_arts)
    start = 0
    j = 0
    while start < n_rows:
        end = start + 1
        while end < n_rows and row_article[rows[end]] == row_article[rows[start]]:
            end += 1
        top = start
        for i in range(start + 1, end):
            if combined[i] > combined[top]:
                top = i
        for i in range(start, end):
            if combined[i] >= 0.8 * combined[top]:
                support[j] += 1.0
        arts[j] = row_article[rows[start]]
        best[j] = top
        j += 1
        start = end
    # 5. Answer scores: short postings read whole through an article → candidate slot table,
    # frequent characters looked up in their bitmaps.
    answer = np.zeros(n_arts)
    answer_cov = np.zeros(n_arts)
    for j in range(n_arts):
        slot[arts[j]] = j
    for t in range(a_cols.size):
        col = a_cols[t]
        b = bit_slot[col]
        if b < 0:
            a_end = a_indptr[col + 1]
            for k in range(a_indptr[col], a_end):
                if k + 16 < a_end:
                    _prefetch(slot, a_indices[k + 16])
                j = slot[a_indices[k]]
                if j >= 0:
                    answer[j] += a_data[k] * a_weights[t]
                    answer_cov[j] += a_coverage[t]
        else:
            for j in range(n_arts):
                if j + 8 < n_arts:
                    _prefetch(bit_table[b, arts[j + 8] >> 6], 0)
                item = arts[j]
                bits = bit_table[b, item >> 6, 0]
                shift = np.uint64(item & 63)
                if (bits >> shift) & np.uint64(1):
                    below = bits & ((np.uint64(1) << shift) - np.uint64(1))
                    rank = bit_table[b, item >> 6, 1] + _popcount(below)
                    answer[j] += a_data[bit_starts[b] + np.int64(rank)] * a_weights[t]
                    answer_cov[j] += a_coverage[t]
    for j in range(n_arts):
        slot[arts[j]] = -1
    question = np.empty(n_arts)
    best_rows = np.empty(n_arts, np.int64)
    for j in range(n_arts):
        question[j] = combined[best[j]]
        best_rows[j] = rows[best[j]]
    score = (1.0 - answer_weight) * question + answer_weight * answer
    # 6. The best limit (article order kept).
    if limit >= 0:
        passing = np.flatnonzero(score >= min_score)
        if passing.size > limit:
            passing = _best_limit(score, passing, limit)
        if passing.size < n_arts:
            best = best[passing]
            return (n_arts, arts[passing], best_rows[passing], score[passing], question[passing], word[best], char[best],
                    answer[passing], word_cov[best], char_cov[best], answer_cov[passing], support[passing])
    return (n_arts, arts, best_rows, score, question, word[best], char[best], answer,
            word_cov[best], char_cov[best], answer_cov, support)


@_jit
def _best_limit(score, passing, limit):
    """The ``limit`` best of ``passing`` (ascending indices into ``score``), in index order; of equal
    scores at the cut, the lower indices. What a stable sort by score would keep, found by one
    selection (``np.partition``) instead of sorting every candidate."""
    if limit <= 0:
        return passing[:0]
    values = score[passing]
    cut = np.partition(-values, limit - 1)[limit - 1]  # the limit-th largest, negated
    keep = np.empty(limit, np.int64)
    n = 0
    for i in range(passing.size):
        if -values[i] < cut:
            keep[n] = passing[i]
            n += 1
    for i in range(passing.size):
        if n == limit:
            break
        if -values[i] == cut:
            keep[n] = passing[i]
            n += 1
    return np.sort(keep)


@_jit
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@_jit
def _presence(indptr, indices, data, arts, lut, first_term, n_terms):
    """(candidates × query terms) counts of an article × term matrix; ``lut`` maps its columns to
    query-term slots, this field's from ``first_term`` on."""
    out = np.zeros((arts.size, n_terms))
    for i in range(arts.size):
        for k in range(indptr[arts[i]], indptr[arts[i] + 1]):
            t = lut[indices[k]]
            if t >= 0:
                out[i, t - first_term] = data[k]
    return out


@_jit
def article_features(arts, rows, n_word, lut, char_offset,
                     wa_indptr, wa_indices, wa_data, w_coverage, w_idf_share,
                     ca_indptr, ca_indices, ca_data, c_coverage, c_idf, c_length, c_avg, k1, b,
                     rm_indptr, rm_indices, is_gram, n_grams, grams_per_row):
    """The second stage's article-level inputs of each candidate (no held-out row): coverage of the
    query's words and characters by all the article's phrasings, the idf share of the rarest query
    word it lacks, BM25 over its phrasings' characters, and the character Jaccard of its best row."""
    n = arts.size
    word_cov = np.zeros(n)
    char_cov = np.zeros(n)
    missing = np.zeros(n)
    bm25 = np.zeros(n)
    jaccard = np.zeros(n)
    n_char = c_coverage.size
    if n_word:
        present = _presence(wa_indptr, wa_indices, wa_data, arts, lut, 0, n_word)
        for i in range(n):
            for t in range(n_word):
                if present[i, t] > 0:
                    word_cov[i] += w_coverage[t]
                elif w_idf_share[t] > missing[i]:
                    missing[i] = w_idf_share[t]
    if n_char:
        present = _presence(ca_indptr, ca_indices, ca_data, arts, lut[char_offset:], n_word, n_char)
        idf_sum = 0.0
        for t in range(n_char):
            idf_sum += c_idf[t]
        norm = max((k1 + 1) * idf_sum, 1e-9)
        for i in range(n):
            length_norm = k1 * (1 - b + b * c_length[i] / c_avg)
            for t in range(n_char):
                tf = present[i, t]
                if tf > 0:
                    char_cov[i] += c_coverage[t]
                    bm25[i] += c_idf[t] * tf * (k1 + 1) / (tf + length_norm)
            bm25[i] /= norm
    if n_grams:
        for i in range(n):
            shared = 0.0
            for k in range(rm_indptr[rows[i]], rm_indptr[rows[i] + 1]):
                t = lut[rm_indices[k]]
                if t >= 0 and is_gram[t]:
                    shared += 1.0
            jaccard[i] = shared / max(n_grams + grams_per_row[rows[i]] - shared, 1.0)
    return word_cov, char_cov, missing, bm25, jaccard
