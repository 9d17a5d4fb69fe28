package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"
)

// limiter counts form submissions per key (an IP or a number) in fixed
// windows that start at a key's first use. Alone it lives in memory: a
// restart forgives everybody, which is fine for abuse protection and keeps
// the hot path free of writes. With a LimitStore (Config.Limits) the counts
// live in the database, where every instance of an installation counts
// together.
type limiter struct {
	max    int
	window time.Duration
	mu     sync.Mutex
	counts map[string]*bucket
	swept  time.Time
	// shared, when set, keeps the counts instead of counts, under keys
	// named by name and hashed with keyHash (a key holds an IP, a number
	// or an e-mail address, which the database must not keep).
	shared  LimitStore
	name    string
	keyHash []byte
	log     *slog.Logger
}

// LimitStore keeps use counts where every instance sees them (store.DB).
type LimitStore interface {
	// CountUse counts one use of key in its window (refused beyond max
	// when reserve is set) and returns the window's uses and its end.
	CountUse(ctx context.Context, key string, max int, window time.Duration, reserve bool, now time.Time) (int, time.Time, error)
	// Uses returns the uses of key in its current window.
	Uses(ctx context.Context, key string, now time.Time) (int, error)
	// ReturnUse gives back one use of key in its current window.
	ReturnUse(ctx context.Context, key string, now time.Time) error
	// PruneUses deletes the counts of ended windows.
	PruneUses(ctx context.Context, now time.Time) (int, error)
}

type bucket struct {
	start time.Time
	n     int
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, counts: map[string]*bucket{}}
}

// share makes l count in st, under keys of the limiter called name hashed
// with key.
func (l *limiter) share(st LimitStore, name string, key []byte, log *slog.Logger) *limiter {
	l.shared, l.name, l.keyHash, l.log = st, name, key, log
	return l
}

// sharedKey is the key under which key is counted in the store: an HMAC,
// so that the table holds no address or number.
func (l *limiter) sharedKey(key string) string {
	m := hmac.New(sha256.New, l.keyHash)
	m.Write([]byte(l.name + "\x00" + key))
	return l.name + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// dbCtx bounds a store call of the limiter: the callers have no context
// to give, and a limit must not hold a request for long.
func dbCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// failed logs a store error; the limit then lets the use through (abuse
// protection must not take the form down with the database).
func (l *limiter) failed(err error) {
	if l.log != nil {
		l.log.Error("shared limit", "limit", l.name, "err", err)
	}
}

// countShared counts key in the store; see LimitStore.CountUse.
func (l *limiter) countShared(key string, reserve bool, now time.Time) (bool, time.Duration) {
	ctx, cancel := dbCtx()
	defer cancel()
	l.sweep(now)
	n, end, err := l.shared.CountUse(ctx, l.sharedKey(key), l.max, l.window, reserve, now)
	if err != nil {
		l.failed(err)
		return true, 0
	}
	if n <= l.max {
		return true, 0
	}
	return false, end.Sub(now)
}

// allow counts one use of key and reports whether it is within the limit.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.max <= 0 || key == "" {
		return true
	}
	if l.shared != nil {
		ok, _ := l.countShared(key, false, now)
		return ok
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
	if l.shared != nil {
		ctx, cancel := dbCtx()
		defer cancel()
		n, err := l.shared.Uses(ctx, l.sharedKey(key), now)
		if err != nil {
			l.failed(err)
			return false
		}
		return n >= l.max
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
	if l.shared != nil {
		return l.countShared(key, true, now)
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
	if l.shared != nil {
		ctx, cancel := dbCtx()
		defer cancel()
		if err := l.shared.ReturnUse(ctx, l.sharedKey(key), now); err != nil {
			l.failed(err)
		}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.counts[key]; b != nil && now.Sub(b.start) < l.window && b.n > 0 {
		b.n--
	}
}

// sweep drops the buckets of past windows, at most once a window; l.mu is
// held, or, shared, not (it deletes the store's ended windows then).
func (l *limiter) sweep(now time.Time) {
	if l.shared != nil {
		l.mu.Lock()
		due := now.Sub(l.swept) > l.window
		if due {
			l.swept = now
		}
		l.mu.Unlock()
		if due {
			ctx, cancel := dbCtx()
			defer cancel()
			if _, err := l.shared.PruneUses(ctx, now); err != nil {
				l.failed(err)
			}
		}
		return
	}
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
