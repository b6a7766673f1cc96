"""Hadamard matrices for balanced repeated replication, exactly as R's ``survey:::hadamard``.

R's ``brrweights`` takes the rows ``2 .. n_strata + 1`` of the 0/1 matrix ``hadamard(n_strata)``
(one column per replicate), so the replicate weights equal R's only with R's choice of matrix:
its four stored matrices (orders 4, 16, 28 and 36), Paley's construction for the order
``p + 1`` (``p`` a prime of the form 4k + 3 up to 7919), and Sylvester doubling.

Depends on nothing of the package.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["hadamard"]

# survey:::hadamard.list (0/1 coded): rows as strings of digits
_STORED_ROWS = (
    (
        "1111",
        "1010",
        "1100",
        "1001",
    ),
    (
        "1111111111111111",
        "1010101010101010",
        "1100110011001100",
        "1001100110011001",
        "1111000011110000",
        "1010010110100101",
        "1100001111000011",
        "1001011010010110",
        "1111111100000000",
        "1010101001010101",
        "1100110000110011",
        "1001100101100110",
        "1111000000001111",
        "1010010101011010",
        "1100001100111100",
        "1001011001101001",
    ),
    (
        "1111111111111111111111111111",
        "1001110001110001110001111000",
        "1000001111001101001101111000",
        "1000001110110010111001100110",
        "1001101000001111100011010110",
        "1001010100101100010110101110",
        "1000110011010010001110011110",
        "0101100010101010011111110000",
        "0100010110110101100111010100",
        "0100011011001011110010101100",
        "0101011000010111011101001010",
        "0100101101100100111010011010",
        "0101100101011001101100100110",
        "0010110100011110101011101000",
        "0011011001100110101100110100",
        "0010101100111011010100011100",
        "0011000111010111010010110010",
        "0011001011111000100111001010",
        "0010110011101101011001000110",
        "1110101001010100010111100100",
        "1111000101100011001011001100",
        "1111000010011100111000011100",
        "1110010101001010110101010010",
        "1110011000111001001010110010",
        "1110100010100111100100101010",
        "1101111111111110000000000000",
        "1011111110000001111110000000",
        "0111111110000000000001111110",
    ),
    (
        "111111111111111111111111111111111111",
        "010111000111110111001000010101100100",
        "101110001111101110010000101011001000",
        "011100011111011100100001010110010010",
        "111000111110111001000010101100100100",
        "110001111101110010000101011001001010",
        "100011111011100100001010110010010110",
        "000111110111001000010101100100101110",
        "001111101110010000101011001001011100",
        "011111011100100001010110010010111000",
        "111110111001000010101100100101110000",
        "111101110010000101011001001011100010",
        "111011100100001010110010010111000110",
        "110111001000010101100100101110001110",
        "101110010000101011001001011100011110",
        "011100100001010110010010111000111110",
        "111001000010101100100101110001111100",
        "110010000101011001001011100011111010",
        "100100001010110010010111000111110110",
        "001000010101100100101110001111101110",
        "010000101011001001011100011111011100",
        "100001010110010010111000111110111000",
        "000010101100100101110001111101110010",
        "000101011001001011100011111011100100",
        "001010110010010111000111110111001000",
        "010101100100101110001111101110010000",
        "101011001001011100011111011100100000",
        "010110010010111000111110111001000010",
        "101100100101110001111101110010000100",
        "011001001011100011111011100100001010",
        "110010010111000111110111001000010100",
        "100100101110001111101110010000101010",
        "001001011100011111011100100001010110",
        "010010111000111110111001000010101100",
        "100101110001111101110010000101011000",
        "001011100011111011100100001010110010",
    ),
)
_STORED = tuple(np.array([[int(c) for c in row] for row in rows], dtype=np.int8)
                for rows in _STORED_ROWS)
_SIZES = tuple(len(m) for m in _STORED)          # 4, 16, 28, 36


def _primes_3_mod_4(limit: int) -> tuple[int, ...]:
    """R's ``small.primes`` of ``paley``: the primes ``p = 3 (mod 4)`` up to ``limit``."""
    sieve = np.ones(limit + 1, dtype=bool)
    sieve[:2] = False
    for k in range(2, int(limit ** 0.5) + 1):
        if sieve[k]:
            sieve[k * k::k] = False
    return tuple(int(p) for p in np.flatnonzero(sieve) if p % 4 == 3)


_SMALL_PRIMES = _primes_3_mod_4(7919)


def _double(H: np.ndarray) -> np.ndarray:
    """R's ``hadamard.doubler``: ``rbind(cbind(H, H), cbind(H, 1 - H))``."""
    return np.block([[H, H], [H, 1 - H]])


def _paley_prime(p: int) -> np.ndarray:
    """Paley's 0/1 Hadamard matrix of order ``p + 1`` (R's ``paley(prime = p)``)."""
    residues = {0} | {(i * i) % p for i in range(1, (p - 1) // 2 + 1)}
    m = np.add.outer(np.arange(p), np.arange(p)) % p
    body = np.where(np.isin(m, list(residues)), 0, 1).astype(np.int8)
    out = np.ones((p + 1, p + 1), dtype=np.int8)
    out[1:, 1:] = body
    return out


def _paley(n: int, nmax: int) -> np.ndarray | None:
    """R's ``paley(n, nmax)``: a Hadamard matrix of order above ``n`` and at most ``nmax``
    from a prime of :data:`_SMALL_PRIMES` (possibly doubled), or ``None``."""
    nceil = nn = n + 4 - n % 4
    if n % 4 + 4 == n % 8:
        while nn % 8 == 0:
            nn //= 2
        if nn - 1 in _SMALL_PRIMES:
            m = _paley_prime(nn - 1)
            while nn < nceil:
                m = _double(m)
                nn *= 2
            return m
    if n > _SMALL_PRIMES[-1]:
        return None
    p = min(q for q in _SMALL_PRIMES if q >= n)
    if p + 1 > nceil + 4 and nceil + 4 < nmax:
        return _paley(nceil + 3, 2 * (nceil + 3))
    if p > nmax:
        return None
    return _paley_prime(p)


def hadamard(n: int) -> np.ndarray:
    """R's ``survey:::hadamard(n)``: a 0/1 Hadamard matrix with more than ``n`` rows.

    Parameters
    ----------
    n : int
        Number of strata (pairs of PSUs) to balance.

    Returns
    -------
    ndarray of int8
        Square 0/1 matrix; its columns are the replicates.

    Examples
    --------
    >>> hadamard(15).shape
    (16, 16)
    >>> # In R: dim(survey:::hadamard(15))
    """
    m = n - n % 4
    precooked = [k for k, size in enumerate(_SIZES) if m < size <= m + 4]
    if precooked:
        return _STORED[min(precooked)].copy()
    if all(m < size for size in _SIZES):
        return _STORED[0].copy()
    doublings = [max(0, math.ceil(math.log2((n + 1) / size))) for size in _SIZES]
    sizes = [size * 2 ** d for size, d in zip(_SIZES, doublings)]
    best = int(np.argmin(np.asarray(sizes) - n))
    H = _paley(n, sizes[best]) if sizes[best] - n > 4 else None
    if H is None:
        H = _STORED[best]
        for _ in range(doublings[best]):
            H = _double(H)
    return H.copy()
