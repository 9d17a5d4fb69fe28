package consent

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// OutboxStore is what the Dispatcher needs of the store: the outbox, and
// what sending learns about contacts and the account.
type OutboxStore interface {
	// ClaimDue leases up to limit outbox messages due at now and returns them.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// MarkSent records the provider's acceptance; the message is never sent again.
	MarkSent(ctx context.Context, id int64, res SendResult, now time.Time) error
	// MarkRetry puts the message back in the queue for next.
	MarkRetry(ctx context.Context, id int64, next time.Time, pe *ProviderError, now time.Time) error
	// MarkFailed ends the message as StatusFailed or StatusDead.
	MarkFailed(ctx context.Context, id int64, status DeliveryStatus, pe *ProviderError, now time.Time) error
	// MarkUndeliverable sets the contact undeliverable with an event.
	MarkUndeliverable(ctx context.Context, contactID int64, code int, now time.Time) error
	AddAlert(ctx context.Context, a Alert) error
	ContactByID(ctx context.Context, id int64) (Contact, error)
	// TemplatesSentSince counts the template messages the provider accepted
	// since a time (the daily cap).
	TemplatesSentSince(ctx context.Context, since time.Time) (int, error)
	// ClaimFarewells takes up to limit farewells to erased numbers off the
	// store, addressed.
	ClaimFarewells(ctx context.Context, limit int) ([]Message, error)
	// DeferMessage puts a claimed message back in the queue until next,
	// without counting an attempt.
	DeferMessage(ctx context.Context, id int64, next time.Time, reason string, now time.Time) error
}

// SharedSending is offered by a store that several instances share, so
// that the send rate, the pause after an account error and the daily cap
// hold for the whole installation rather than per instance. A Dispatcher
// whose store offers it keeps them there; otherwise in memory.
type SharedSending interface {
	// ReserveSendSlot reserves the next send slot at one per interval, for
	// every instance together, and returns when it begins.
	ReserveSendSlot(ctx context.Context, now time.Time, interval time.Duration) (time.Time, error)
	// PauseSending stops every instance's sending until until.
	PauseSending(ctx context.Context, until time.Time) error
	// SendingPausedUntil returns until when sending is paused.
	SendingPausedUntil(ctx context.Context) (time.Time, error)
	// ReserveTemplate counts one template towards the UTC day's total when
	// fewer than limit were counted, and reports whether it did.
	ReserveTemplate(ctx context.Context, day time.Time, limit int) (bool, error)
	// ReturnTemplate gives back a reserved template the provider refused.
	ReturnTemplate(ctx context.Context, day time.Time) error
}

// Dispatcher sends the outbox through a Sender at a bounded rate. It retries
// throttled and transient failures with exponential backoff and jitter (at
// most MaxAttempts within MaxAge, then the message is a dead letter), marks
// contacts undeliverable, and pauses on account errors.
type Dispatcher struct {
	Store  OutboxStore
	Sender Sender
	Clock  Clock
	Log    *slog.Logger
	// Rate is the most messages per second sent to the provider.
	Rate float64
	// BaseDelay is the first retry delay; each further retry triples it.
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	MaxAttempts int
	MaxAge      time.Duration
	// Lease is how long a claimed message is reserved; a message still
	// "sending" after it (the process died mid-send) becomes unknown.
	Lease time.Duration
	// Poll is how often the queue is read when nobody called Wake.
	Poll time.Duration
	// AccountPause is how long sending stops after an account error.
	AccountPause time.Duration
	// Personalize fills what is only known at send time (the preference
	// link) into a message about to be sent; nil sends messages as queued.
	Personalize func(ctx context.Context, contactID int64, m *Message) error
	// OnMarketingStopped is called when the provider refuses a message
	// because the person stopped marketing in WhatsApp (131050).
	OnMarketingStopped func(ctx context.Context, contactID int64, code int) error
	// Limits, when set, is read before every batch: the send rate and the
	// daily cap on business-initiated messages as an admin set them, which
	// replace Rate and take effect at once. Without it Rate applies and
	// nothing is capped.
	Limits func() SendLimits

	wake     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	rate     float64   // current rate, lowered on throttling
	next     time.Time // earliest time of the next send
	pausedTo time.Time
	dailyCap int       // 0: no cap
	hold     string    // why business-initiated sends wait; "" when they may go
	capDay   time.Time // the UTC day capSent counts; zero until counted
	capSent  int       // templates sent on capDay
	// shared is Store as SharedSending, nil when it is not;
	// reserved holds the day each template in flight was counted on.
	shared   SharedSending
	reserved map[int64]time.Time
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		d.shared, _ = d.Store.(SharedSending)
		d.reserved = map[int64]time.Time{}
		if d.Rate <= 0 {
			d.Rate = 20
		}
		d.rate = d.Rate
		if d.BaseDelay == 0 {
			d.BaseDelay = 5 * time.Second
		}
		if d.MaxDelay == 0 {
			d.MaxDelay = 6 * time.Hour
		}
		if d.MaxAttempts == 0 {
			d.MaxAttempts = 8
		}
		if d.MaxAge == 0 {
			d.MaxAge = 24 * time.Hour
		}
		if d.Lease == 0 {
			d.Lease = 2 * time.Minute
		}
		if d.Poll == 0 {
			d.Poll = time.Second
		}
		if d.AccountPause == 0 {
			d.AccountPause = 10 * time.Minute
		}
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Wake asks the dispatcher to look at the queue now.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends due messages until ctx is cancelled. A message being sent when
// ctx ends is finished first, so shutdown never abandons an accepted send.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	drain(ctx, d.Poll, d.wake, d.Log, "outbox", d.SendDue)
}

// SendDue claims the messages due now and sends them, pacing to the rate. It
// returns how many it handled.
func (d *Dispatcher) SendDue(ctx context.Context) (int, error) {
	d.init()
	if paused, err := d.paused(ctx); paused || err != nil {
		return 0, err
	}
	d.applyLimits()
	if err := d.sendFarewells(ctx); err != nil {
		return 0, err
	}
	// One message is claimed at a time, right before it is sent: a claimed
	// message that a crash cuts off becomes unknown (it may have reached
	// the provider, so it is never sent again by itself), and a batch
	// claimed ahead would turn into unknown messages that were never tried.
	for i := 0; i < 50; i++ {
		if ctx.Err() != nil {
			return i, nil
		}
		batch, err := d.Store.ClaimDue(ctx, d.Clock.Now(), d.Lease, 1)
		if err != nil || len(batch) == 0 {
			return i, err
		}
		m := batch[0]
		if held, err := d.holdOverCap(ctx, m); err != nil {
			return i + 1, err
		} else if held {
			continue
		}
		// Paced once claimed, so that a round with nothing due costs no
		// slot (with a shared store, a write); the wait is at most a few
		// slots, and a shutdown during it still sends the claimed message.
		if err := d.pace(context.WithoutCancel(ctx)); err != nil {
			return i + 1, errors.Join(err, d.returnTemplate(ctx, m.ID))
		}
		if err := d.send(context.WithoutCancel(ctx), m); err != nil {
			return i + 1, err
		}
		if paused, err := d.paused(ctx); paused || err != nil {
			return i + 1, err
		}
	}
	return 50, nil
}

// sendFarewells sends the last messages to erased numbers. Each is taken
// off the store as it is claimed and tried once: a failure or a crash loses
// the farewell, never the erasure.
func (d *Dispatcher) sendFarewells(ctx context.Context) error {
	farewells, err := d.Store.ClaimFarewells(ctx, 50)
	if err != nil {
		return err
	}
	for _, m := range farewells {
		if err := d.pace(ctx); err != nil {
			return nil
		}
		if _, err := d.Sender.Send(context.WithoutCancel(ctx), m); err != nil && d.Log != nil {
			d.Log.Warn("farewell not sent", "err", err)
		}
	}
	return nil
}

// paused reports whether sending stops for now after an account error,
// seen by this instance or, with a shared store, by any.
func (d *Dispatcher) paused(ctx context.Context) (bool, error) {
	now := d.Clock.Now()
	d.mu.Lock()
	paused := now.Before(d.pausedTo)
	d.mu.Unlock()
	if paused || d.shared == nil {
		return paused, nil
	}
	until, err := d.shared.SendingPausedUntil(ctx)
	if err != nil {
		return false, err
	}
	return now.Before(until), nil
}

// pace waits until the rate allows the next send. With a shared store the
// slot comes from the store, so the rate holds for every instance together.
func (d *Dispatcher) pace(ctx context.Context) error {
	d.mu.Lock()
	now := time.Now()
	interval := time.Duration(float64(time.Second) / d.rate)
	var wait time.Duration
	if d.shared == nil {
		wait = d.next.Sub(now)
		start := now
		if wait > 0 {
			start = d.next
		}
		d.next = start.Add(interval)
	}
	d.mu.Unlock()
	if d.shared != nil {
		start, err := d.shared.ReserveSendSlot(ctx, now, interval)
		if err != nil {
			return err
		}
		wait = start.Sub(now)
	}
	if wait <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

func (d *Dispatcher) send(ctx context.Context, m OutboxMessage) error {
	if m.Message.Kind != KindTemplate && m.Message.Kind != KindRead {
		// Outside the 24-hour customer service window only templates may
		// go out (470/131047): fail the message instead of sending it.
		c, err := d.Store.ContactByID(ctx, m.ContactID)
		if err != nil {
			return err
		}
		if now := d.Clock.Now(); !now.Before(c.WindowOpenUntil) {
			return d.Store.MarkFailed(ctx, m.ID, StatusFailed,
				&ProviderError{Class: ErrWindowClosed, Code: 131047, Title: "24-hour window closed; not sent"}, now)
		}
	}
	if d.Personalize != nil {
		if err := d.Personalize(ctx, m.ContactID, &m.Message); err != nil {
			return errors.Join(err, d.returnTemplate(ctx, m.ID))
		}
	}
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	res, err := d.Sender.Send(sendCtx, m.Message)
	cancel()
	now := d.Clock.Now()
	if err == nil {
		d.adjustRate(false)
		if m.Message.Kind == KindTemplate {
			d.countTemplate(now)
		}
		d.mu.Lock()
		delete(d.reserved, m.ID)
		d.mu.Unlock()
		return d.Store.MarkSent(ctx, m.ID, res, now)
	}
	if err := d.returnTemplate(ctx, m.ID); err != nil {
		return err
	}
	var pe *ProviderError
	if !errors.As(err, &pe) {
		pe = &ProviderError{Class: ErrTransient, Title: "send failed"}
	}
	d.Log.Warn("outbox send failed", "message_id", m.ID, "contact_id", m.ContactID,
		"attempt", m.Attempts, "class", pe.Class, "code", pe.Code, "http_status", pe.HTTPStatus)
	switch pe.Class {
	case ErrThrottled, ErrTransient:
		if pe.Class == ErrThrottled {
			d.adjustRate(true)
		}
		if m.Attempts >= d.MaxAttempts || now.Sub(m.CreatedAt) >= d.MaxAge {
			if err := d.Store.MarkFailed(ctx, m.ID, StatusDead, pe, now); err != nil {
				return err
			}
			return d.Store.AddAlert(ctx, Alert{Kind: "dead_letter", Code: pe.Code, Title: pe.Title, At: now})
		}
		return d.Store.MarkRetry(ctx, m.ID, now.Add(d.backoff(m.Attempts, pe.RetryAfter)), pe, now)
	case ErrUndeliverable:
		if err := d.Store.MarkFailed(ctx, m.ID, StatusFailed, pe, now); err != nil {
			return err
		}
		return d.Store.MarkUndeliverable(ctx, m.ContactID, pe.Code, now)
	case ErrMarketingStopped:
		if err := d.Store.MarkFailed(ctx, m.ID, StatusFailed, pe, now); err != nil {
			return err
		}
		if d.OnMarketingStopped != nil {
			return d.OnMarketingStopped(ctx, m.ContactID, pe.Code)
		}
		return nil
	case ErrTemplate:
		if err := d.Store.MarkFailed(ctx, m.ID, StatusFailed, pe, now); err != nil {
			return err
		}
		return d.Store.AddAlert(ctx, Alert{Kind: "template", Code: pe.Code, Title: pe.Title, At: now})
	case ErrAccount:
		// The message is fine; the account is not. Keep it queued and stop
		// sending everything for a while.
		d.mu.Lock()
		d.pausedTo = now.Add(d.AccountPause)
		d.mu.Unlock()
		if d.shared != nil {
			if err := d.shared.PauseSending(ctx, now.Add(d.AccountPause)); err != nil {
				return err
			}
		}
		if err := d.Store.MarkRetry(ctx, m.ID, now.Add(d.AccountPause), pe, now); err != nil {
			return err
		}
		return d.Store.AddAlert(ctx, Alert{Kind: "account", Code: pe.Code, Title: pe.Title, At: now})
	default:
		return d.Store.MarkFailed(ctx, m.ID, StatusFailed, pe, now)
	}
}

// backoff returns the delay before retry number attempt (1-based). When the
// provider said when to come back (Retry-After) that time is used, plus up
// to a tenth of jitter; otherwise BaseDelay tripled per attempt, capped,
// with jitter over its upper half so that retries of many messages spread.
func (d *Dispatcher) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter + time.Duration(rand.Int64N(int64(retryAfter/10)+1))
	}
	delay := d.BaseDelay
	for i := 1; i < attempt && delay < d.MaxDelay; i++ {
		delay *= 3
	}
	delay = min(delay, d.MaxDelay)
	half := delay / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// adjustRate halves the send rate on throttling and recovers it by a tenth
// per success, never above Rate nor below one message per second.
func (d *Dispatcher) adjustRate(throttled bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if throttled {
		d.rate = max(d.rate/2, 1)
		return
	}
	d.rate = min(d.rate*1.1, d.Rate)
}

// applyLimits takes the send rate and daily cap from Limits. A lower rate
// applies at once; after a higher one the current rate climbs to it as
// after throttling.
func (d *Dispatcher) applyLimits() {
	if d.Limits == nil {
		return
	}
	l := d.Limits()
	d.mu.Lock()
	defer d.mu.Unlock()
	if l.Rate > 0 && l.Rate != d.Rate {
		d.Rate = l.Rate
		d.rate = min(max(d.rate, 1), d.Rate)
	}
	d.dailyCap = max(l.DailyCap, 0)
	d.hold = ""
	if l.HoldBusiness {
		d.hold = l.HoldReason
	}
}

// HoldRetry is how often a held business-initiated message is looked at
// again while WhatsApp flags or restricts the number.
const HoldRetry = 5 * time.Minute

// CapDeferred is the error class of a message held back by the daily cap.
const CapDeferred = "daily_cap"

// holdOverCap puts a business-initiated message (a template) back in the
// queue until the next UTC midnight when the day's cap is reached, without
// counting an attempt. Replies, which only go out inside the 24-hour
// customer service window that the person opened, are never held. While
// WhatsApp flags, restricts or bans the number (SendLimits.HoldBusiness) it
// holds every template for HoldRetry.
func (d *Dispatcher) holdOverCap(ctx context.Context, m OutboxMessage) (bool, error) {
	if m.Message.Kind != KindTemplate {
		return false, nil
	}
	d.mu.Lock()
	limit, hold := d.dailyCap, d.hold
	d.mu.Unlock()
	if hold != "" {
		now := d.Clock.Now()
		return true, d.Store.DeferMessage(ctx, m.ID, now.Add(HoldRetry), hold, now)
	}
	now := d.Clock.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	if d.shared != nil {
		// Every template is counted in the store, capped or not, so that a
		// cap set during the day starts from what was sent; the place is
		// taken before sending, so instances never pass the cap together.
		ok, err := d.shared.ReserveTemplate(ctx, day, cmp.Or(limit, math.MaxInt32))
		if err != nil || ok {
			if ok {
				d.mu.Lock()
				d.reserved[m.ID] = day
				d.mu.Unlock()
			}
			return false, err
		}
		return true, d.Store.DeferMessage(ctx, m.ID, day.Add(24*time.Hour), "daily cap of business-initiated messages reached", now)
	}
	if limit == 0 {
		return false, nil
	}
	d.mu.Lock()
	counted := d.capDay.Equal(day)
	d.mu.Unlock()
	if !counted {
		n, err := d.Store.TemplatesSentSince(ctx, day)
		if err != nil {
			return false, err
		}
		d.mu.Lock()
		d.capDay, d.capSent = day, n
		d.mu.Unlock()
	}
	d.mu.Lock()
	over := d.capSent >= limit
	d.mu.Unlock()
	if !over {
		return false, nil
	}
	return true, d.Store.DeferMessage(ctx, m.ID, day.Add(24*time.Hour), "daily cap of business-initiated messages reached", now)
}

// countTemplate counts a template the provider accepted towards the day's cap.
func (d *Dispatcher) countTemplate(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.capDay.Equal(now.UTC().Truncate(24 * time.Hour)) {
		d.capSent++
	}
}

// returnTemplate gives back the place a template took in the day's count
// when the provider did not accept it.
func (d *Dispatcher) returnTemplate(ctx context.Context, id int64) error {
	d.mu.Lock()
	day, ok := d.reserved[id]
	delete(d.reserved, id)
	d.mu.Unlock()
	if !ok || d.shared == nil {
		return nil
	}
	return d.shared.ReturnTemplate(ctx, day)
}
