// Package ratelimit bounds how fast one caller may use an API, so that one
// client, careless or hostile, cannot take a module's capacity from everyone
// else.
//
// A Limiter keeps a token bucket per key (the person a request is made for,
// say): a key may make Burst requests at once and PerSecond on average. The
// buckets live in memory, in each process apart: a module that runs as
// several instances allows a caller that much per instance. The number of
// buckets is bounded, the least recently used forgotten first, so a flood of
// new keys costs memory up to a cap and no further.
package ratelimit

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/uberservice/uberservice/platform/problem"
)

// Config says how fast a key may go.
type Config struct {
	// PerSecond is the sustained rate a key is allowed; 0 or less turns the
	// limit off.
	PerSecond float64
	// Burst is how many requests a key may make at once, after a pause;
	// default: one second's worth, and at least 1.
	Burst int
	// MaxKeys bounds how many keys are remembered; default 100,000. A key
	// forgotten starts again with a full bucket.
	MaxKeys int
}

// Limiter is a token bucket per key. Its methods are safe for concurrent use.
// A nil *Limiter allows everything.
type Limiter struct {
	cfg Config
	now func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // key -> its bucket, in lru
	lru     *list.List               // *bucket, most recently used first
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// New returns a Limiter, or nil when cfg.PerSecond turns the limit off.
func New(cfg Config) *Limiter {
	if cfg.PerSecond <= 0 {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.PerSecond)))
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100_000
	}
	return &Limiter{cfg: cfg, now: time.Now, buckets: map[string]*list.Element{}, lru: list.New()}
}

// Allow takes a token from key's bucket. When there is none it takes
// nothing, and says how long until there is one.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	lim := l.bucket(key)
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// bucket returns key's limiter, making it (and forgetting the least recently
// used one beyond MaxKeys) when it has none.
func (l *Limiter) bucket(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.buckets[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*bucket).lim
	}
	b := &bucket{key: key, lim: rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)}
	l.buckets[key] = l.lru.PushFront(b)
	for l.lru.Len() > l.cfg.MaxKeys {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.buckets, oldest.Value.(*bucket).key)
	}
	return b.lim
}

// Keys is how many keys the Limiter remembers now.
func (l *Limiter) Keys() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// ErrTooManyRequests is the problem a request over its key's rate gets.
var ErrTooManyRequests = problem.New(http.StatusTooManyRequests, "rate_limited", "Too many requests")

// Middleware limits the requests of each key that key names; a request whose
// key is "" is not limited (key says who may go unlimited: nobody, usually).
// A request over the limit is answered 429 problem+json with Retry-After,
// in whole seconds, rounded up, and reaches no handler.
func (l *Limiter) Middleware(key func(c echo.Context) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if l == nil {
			return next
		}
		return func(c echo.Context) error {
			k := key(c)
			if k == "" {
				return next(c)
			}
			ok, wait := l.Allow(k)
			if ok {
				return next(c)
			}
			seconds := int(math.Ceil(wait.Seconds()))
			c.Response().Header().Set("Retry-After", strconv.Itoa(seconds))
			p := *ErrTooManyRequests
			p.Detail = fmt.Sprintf("over %g requests a second; retry after %ds", l.cfg.PerSecond, seconds)
			return &p
		}
	}
}
