"""Independent Python transcription of poolkit's generator (xoshiro128** seeded by SplitMix32),
used to pin golden values in test/random.test.ts. Usage: python3 scripts/golden_rng.py SEED COUNT"""
import sys

M = 0xFFFFFFFF


def splitmix32(state):
    state[0] = (state[0] + 0x9E3779B9) & M
    z = state[0]
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M
    return (z ^ (z >> 16)) & M


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M


def seeded(seed):
    lo = seed & M
    hi = (seed // 4294967296) & M
    st = [(lo ^ ((hi * 0x27D4EB2D) & M)) & M]
    a = splitmix32(st)
    b = splitmix32(st) ^ hi
    c = splitmix32(st)
    d = splitmix32(st)
    if (a | b | c | d) == 0:
        a = 1
    return [a, b, c, d]


def next_u32(s):
    a, b, c, d = s
    r = (rotl((b * 5) & M, 7) * 9) & M
    t = (b << 9) & M
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    s[:] = [a, b, c, d]
    return r


if __name__ == "__main__":
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    s = seeded(seed)
    print([next_u32(s) for _ in range(count)])
