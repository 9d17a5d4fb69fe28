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
	// FinishInboxBatch marks the calls ids processed without error, in one
	// transaction.
	FinishInboxBatch(ctx context.Context, ids []int64, at time.Time) error
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
//
// After a batch that was not full, it waits inboxGather before claiming the
// next: under a burst, calls then arrive between rounds by the dozen rather
// than one by one, and each round's claim and finish (two write
// transactions) serve many; meanwhile the CPU goes to taking calls in. A
// call waits that much longer to be processed, never to be acknowledged.
func (w *InboxWorker) Run(ctx context.Context) {
	drain(ctx, w.Poll, w.wake, w.Log, "inbox", func(ctx context.Context) (int, error) {
		n, err := w.ProcessPending(ctx)
		if n > 0 && n < inboxBatch {
			t := time.NewTimer(inboxGather)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		return n, err
	})
}

const (
	inboxBatch  = 100 // calls claimed per round
	inboxGather = 10 * time.Millisecond
)

// ProcessPending processes the calls waiting now and returns how many.
// Calls handled without error are marked processed together, once per
// round: a crash before that handles them again, which every handler
// allows (the provider itself delivers a webhook more than once).
func (w *InboxWorker) ProcessPending(ctx context.Context) (n int, err error) {
	items, err := w.Store.PendingInbox(ctx, inboxBatch)
	if err != nil {
		return 0, err
	}
	var done []int64
	defer func() {
		if len(done) == 0 {
			return
		}
		if ferr := w.Store.FinishInboxBatch(context.WithoutCancel(ctx), done, w.Service.clock.Now()); ferr != nil && err == nil {
			n, err = n-len(done), ferr
		}
	}()
	for i, it := range items {
		if ctx.Err() != nil {
			return i, nil
		}
		ctx := context.WithoutCancel(ctx)
		now := w.Service.clock.Now()
		in, err := w.Parse(it.Body)
		if err != nil {
			// Verified and stored, yet of a shape optin does not know (the
			// handler stored it: answering 400 would make the provider
			// resend it for days): keep it, with the reason, for admins.
			if err := w.Store.FinishInbox(ctx, it.ID, IgnoredPrefix+err.Error(), now); err != nil {
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
		if reason := in.IgnoredReason(); reason != "" {
			// Kept for admins, body and all.
			if err := w.Store.FinishInbox(ctx, it.ID, IgnoredPrefix+reason, now); err != nil {
				return i, err
			}
			continue
		}
		if note := in.Note(); note != "" {
			// Invalid items were kept aside: the call keeps its body, marked.
			if err := w.Store.FinishInbox(ctx, it.ID, note, now); err != nil {
				return i, err
			}
			continue
		}
		done = append(done, it.ID)
	}
	return len(items), nil
}
