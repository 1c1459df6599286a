// Package tokencache remembers the bearer tokens a process has verified, until
// they expire, so that a signature is checked once per token rather than once
// per request.
//
// A person calls the public API with the same token for its whole life (an
// hour, typically), and a module calls a peer with the same service token for
// two thirds of its life; checking an ECDSA signature costs more than the rest
// of a deposit's work in Go together. A hit costs a SHA-256 of the token and a
// map lookup.
//
// The cache holds only what a successful verification returned and the time
// it stops being true. Refusals are never cached: a forged token costs its
// sender a signature check each time, as before. Entries are keyed by a hash
// of the token (and of whatever else the verification depended on, such as
// the audience), so the cache holds no token.
package tokencache

import (
	"crypto/sha256"
	"io"
	"sync"
	"time"
)

// DefaultSize is the number of tokens a Cache holds unless told otherwise: a
// few thousand people active within an hour, at about 150 bytes each.
const DefaultSize = 10_000

// A Cache maps verified tokens to what their verification returned. The zero
// value is not usable; call New. It is safe for concurrent use.
type Cache[V any] struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]entry[V]
	size    int
}

type entry[V any] struct {
	v     V
	until time.Time
}

// New returns a cache of at most size tokens (DefaultSize if size <= 0).
func New[V any](size int) *Cache[V] {
	if size <= 0 {
		size = DefaultSize
	}
	return &Cache[V]{entries: make(map[[sha256.Size]byte]entry[V]), size: size}
}

// Key is the cache's key for a token and what else its verification depended
// on (an audience, say): parts are joined unambiguously.
func Key(token string, parts ...string) [sha256.Size]byte {
	h := sha256.New()
	io.WriteString(h, token)
	for _, p := range parts {
		h.Write([]byte{0})
		io.WriteString(h, p)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// Get returns what was verified under k, if it is still good at now.
func (c *Cache[V]) Get(k [sha256.Size]byte, now time.Time) (V, bool) {
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && !now.Before(e.until) {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put remembers v under k until until (the token's expiry). A full cache
// first forgets the entries that have expired by now and, if that frees
// nothing, an arbitrary tenth of the others: a flood of distinct valid tokens
// costs their senders verifications, never the process its memory.
func (c *Cache[V]) Put(k [sha256.Size]byte, v V, now, until time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.size {
		for key, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, key)
			}
		}
		for key := range c.entries {
			if len(c.entries) < c.size-c.size/10 {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = entry[V]{v: v, until: until}
}

// Len is the number of tokens c holds, expired ones it has not yet dropped
// included.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
