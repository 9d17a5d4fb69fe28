package web

import (
	"sync"
	"time"
)

// limiter counts form submissions per key (an IP or a number) in fixed
// windows. It lives in memory: a restart forgives everybody, which is fine
// for abuse protection and keeps the hot path free of writes.
type limiter struct {
	max    int
	window time.Duration
	mu     sync.Mutex
	counts map[string]*bucket
	swept  time.Time
}

type bucket struct {
	start time.Time
	n     int
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, counts: map[string]*bucket{}}
}

// allow counts one use of key and reports whether it is within the limit.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.max <= 0 || key == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.window {
		for k, b := range l.counts {
			if now.Sub(b.start) >= l.window {
				delete(l.counts, k)
			}
		}
		l.swept = now
	}
	b := l.counts[key]
	if b == nil || now.Sub(b.start) >= l.window {
		b = &bucket{start: now}
		l.counts[key] = b
	}
	b.n++
	return b.n <= l.max
}

// exceeded reports whether key has already used up its limit in the current
// window, without counting a use.
func (l *limiter) exceeded(key string, now time.Time) bool {
	if l.max <= 0 || key == "" {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.counts[key]
	return b != nil && now.Sub(b.start) < l.window && b.n >= l.max
}
