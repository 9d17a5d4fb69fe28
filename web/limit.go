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
	l.sweep(now)
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

// reserve counts one use of key when the limit allows it, in one step, so
// that concurrent callers cannot all pass a check made before any of them
// counted. It returns false, and how long until the window ends, when the
// limit is used up; a refused call counts nothing.
func (l *limiter) reserve(key string, now time.Time) (bool, time.Duration) {
	if l.max <= 0 || key == "" {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.counts[key]
	if b == nil || now.Sub(b.start) >= l.window {
		b = &bucket{start: now}
		l.counts[key] = b
	}
	if b.n >= l.max {
		return false, b.start.Add(l.window).Sub(now)
	}
	b.n++
	return true, 0
}

// refund gives back one use of key reserved in the current window: the
// attempt turned out not to count (a right password).
func (l *limiter) refund(key string, now time.Time) {
	if l.max <= 0 || key == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.counts[key]; b != nil && now.Sub(b.start) < l.window && b.n > 0 {
		b.n--
	}
}

// sweep drops the buckets of past windows, at most once a window; l.mu is held.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) <= l.window {
		return
	}
	for k, b := range l.counts {
		if now.Sub(b.start) >= l.window {
			delete(l.counts, k)
		}
	}
	l.swept = now
}
