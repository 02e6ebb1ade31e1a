package fnserver

import (
	"crypto/sha256"
	"hash/crc32"
)

// HashChain is CPU work: iters rounds of SHA-256 over a 4 KiB block (about 10 µs each).
func HashChain(iters int) [32]byte {
	var block [4096]byte
	var sum [32]byte
	for i := 0; i < iters; i++ {
		copy(block[:], sum[:])
		sum = sha256.Sum256(block[:])
	}
	return sum
}

// Churn is memory work: allocate mb MiB, fill every byte (so every page is faulted in, as an
// image or data-frame transform would) and checksum it. The buffer is garbage afterwards.
func Churn(mb int) uint32 {
	buf := make([]byte, mb<<20)
	if len(buf) == 0 {
		return 0
	}
	buf[0] = 0x5a
	for n := 1; n < len(buf); n *= 2 {
		copy(buf[n:], buf[:n])
	}
	return crc32.ChecksumIEEE(buf)
}
