package consent

import (
	"context"
	"log/slog"
	"time"
)

// InboxItem is one stored webhook call.
type InboxItem struct {
	ID       int64
	Body     []byte
	Attempts int
}

// InboxStore keeps webhook calls from their arrival until they are processed.
type InboxStore interface {
	SaveInbox(ctx context.Context, body []byte, at time.Time) (int64, error)
	PendingInbox(ctx context.Context, limit int) ([]InboxItem, error)
	FinishInbox(ctx context.Context, id int64, errText string, at time.Time) error
	RetryInbox(ctx context.Context, id int64, errText string) error
}

// Receive stores a verified webhook body. Once it returns nil the call may be
// acknowledged: the body is durable and will be processed.
func (s *Service) Receive(ctx context.Context, body []byte) error {
	_, err := s.store.SaveInbox(ctx, body, s.clock.Now())
	if err == nil && s.inboxWake != nil {
		s.inboxWake()
	}
	return err
}

// OnReceive registers f to be called after a webhook call was stored.
func (s *Service) OnReceive(f func()) { s.inboxWake = f }

// InboxWorker processes stored webhook calls in arrival order.
type InboxWorker struct {
	Service *Service
	Store   InboxStore
	// Parse turns a stored body into the neutral model.
	Parse func([]byte) (Inbound, error)
	Log   *slog.Logger
	Poll  time.Duration
	// MaxAttempts bounds how often a call that fails to apply is tried.
	MaxAttempts int
	wake        chan struct{}
}

// Wake asks the worker to look at the inbox now.
func (w *InboxWorker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// NewInboxWorker returns a worker wired to s.
func NewInboxWorker(s *Service, st InboxStore, parse func([]byte) (Inbound, error), log *slog.Logger) *InboxWorker {
	w := &InboxWorker{Service: s, Store: st, Parse: parse, Log: log, Poll: time.Second, MaxAttempts: 5,
		wake: make(chan struct{}, 1)}
	s.OnReceive(w.Wake)
	return w
}

// Run processes the inbox until ctx ends.
func (w *InboxWorker) Run(ctx context.Context) {
	drain(ctx, w.Poll, w.wake, w.Log, "inbox", w.ProcessPending)
}

// ProcessPending processes the calls waiting now and returns how many.
func (w *InboxWorker) ProcessPending(ctx context.Context) (int, error) {
	items, err := w.Store.PendingInbox(ctx, 100)
	if err != nil {
		return 0, err
	}
	for i, it := range items {
		if ctx.Err() != nil {
			return i, nil
		}
		ctx := context.WithoutCancel(ctx)
		now := w.Service.clock.Now()
		in, err := w.Parse(it.Body)
		if err != nil {
			// Verified and stored, yet unreadable: keep it for inspection.
			if err := w.Store.FinishInbox(ctx, it.ID, "parse: "+err.Error(), now); err != nil {
				return i, err
			}
			continue
		}
		if err := w.Service.Handle(ctx, in); err != nil {
			w.Log.Warn("inbox item failed", "inbox_id", it.ID, "attempt", it.Attempts+1, "err", err)
			if it.Attempts+1 >= w.MaxAttempts {
				if err := w.Store.FinishInbox(ctx, it.ID, err.Error(), now); err != nil {
					return i, err
				}
				continue
			}
			if err := w.Store.RetryInbox(ctx, it.ID, err.Error()); err != nil {
				return i, err
			}
			return i + 1, nil // try again on the next round
		}
		if err := w.Store.FinishInbox(ctx, it.ID, in.Note(), now); err != nil { // invalid items keep the body, marked
			return i, err
		}
	}
	return len(items), nil
}
