package consent

import (
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Forward is a queued call to the business's own system.
type Forward struct {
	ID        int64
	Body      []byte
	Attempts  int
	CreatedAt time.Time
}

// Forwarder delivers a forward; nil means the business's system accepted it.
type Forwarder interface {
	Forward(ctx context.Context, body []byte) error
}

// ForwardStore keeps the forward queue.
type ForwardStore interface {
	ClaimForwards(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Forward, error)
	FinishForward(ctx context.Context, id int64, status string, next time.Time, errText string, now time.Time) error
}

// ForwardWorker POSTs forwards until they are accepted: with backoff from a
// second up to an hour, for at most three days, then a dead letter.
type ForwardWorker struct {
	Store     ForwardStore
	Forwarder Forwarder
	Clock     Clock
	Log       *slog.Logger
	BaseDelay time.Duration
	MaxAge    time.Duration
	// Lease is how long a claimed batch is reserved for this instance; it
	// covers a batch of calls that all time out (ForwardLease).
	Lease time.Duration
	wake  chan struct{}
}

// ForwardLease is the default lease of a batch of forwards: 20 calls of at
// most 15 seconds each, so that another instance never takes over a batch
// this one is still working through.
const ForwardLease = 5 * time.Minute

// NewForwardWorker returns a worker that s wakes when it queues a forward.
func NewForwardWorker(s *Service, st ForwardStore, f Forwarder, log *slog.Logger) *ForwardWorker {
	w := &ForwardWorker{Store: st, Forwarder: f, Clock: s.clock, Log: log, BaseDelay: time.Second,
		MaxAge: 72 * time.Hour, wake: make(chan struct{}, 1)}
	s.forwardWake = w.Wake
	return w
}

// Wake asks the worker to look at the queue now.
func (w *ForwardWorker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run forwards until ctx ends.
func (w *ForwardWorker) Run(ctx context.Context) {
	drain(ctx, time.Second, w.wake, w.Log, "forward", w.SendDue)
}

// SendDue forwards what is due now and returns how many it handled.
func (w *ForwardWorker) SendDue(ctx context.Context) (int, error) {
	now := w.Clock.Now()
	due, err := w.Store.ClaimForwards(ctx, now, cmp.Or(w.Lease, ForwardLease), 20)
	if err != nil {
		return 0, err
	}
	for i, f := range due {
		if ctx.Err() != nil {
			return i, nil
		}
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		err := w.Forwarder.Forward(callCtx, f.Body)
		cancel()
		now := w.Clock.Now()
		switch {
		case err == nil:
			err = w.Store.FinishForward(ctx, f.ID, "sent", time.Time{}, "", now)
		case now.Sub(f.CreatedAt) >= w.MaxAge:
			w.Log.Warn("forward dead", "forward_id", f.ID, "attempt", f.Attempts, "err", err)
			err = w.Store.FinishForward(ctx, f.ID, "dead", time.Time{}, err.Error(), now)
		default:
			w.Log.Warn("forward failed", "forward_id", f.ID, "attempt", f.Attempts, "err", err)
			delay := min(w.BaseDelay<<min(f.Attempts-1, 12), time.Hour)
			delay = delay/2 + time.Duration(rand.Int64N(int64(delay/2)+1))
			err = w.Store.FinishForward(ctx, f.ID, "queued", now.Add(delay), err.Error(), now)
		}
		if err != nil {
			return i + 1, err
		}
	}
	return len(due), nil
}
