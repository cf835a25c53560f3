// Package hash64 holds the 64-bit hashes Wirewatch computes the same way
// in every process and every release: dedup fingerprints and sketches,
// the ledger's article keys, feed ownership. Changing one changes what
// every stored fingerprint means.
package hash64

// String is FNV-1a of s.
func String(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Mix is the SplitMix64 finaliser: it spreads a hash over all 64 bits
// (FNV alone spreads similar inputs poorly in the high bits).
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
