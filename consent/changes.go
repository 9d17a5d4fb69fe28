package consent

import (
	"context"
	"log/slog"
	"time"
)

// ChangeSource is offered by a store that several instances share: a
// version that moves with every change of what a Service caches (settings,
// categories and their texts, form wordings, API keys, the number's
// standing), whichever instance made it.
type ChangeSource interface {
	ChangeVersion(ctx context.Context) (int64, error)
}

// CheckChanges reloads what this Service caches when the store's change
// version moved since the last check, and reports whether it did. The
// version is read before the reload, so a change committed during the
// reload moves it again and the next check reloads once more. Without a
// ChangeSource it does nothing.
func (s *Service) CheckChanges(ctx context.Context) (bool, error) {
	cs, ok := s.store.(ChangeSource)
	if !ok {
		return false, nil
	}
	v, err := cs.ChangeVersion(ctx)
	if err != nil {
		return false, err
	}
	if s.changes.Load() == v {
		return false, nil
	}
	s.ForgetCategories() // categories and form wordings
	if err := s.LoadSettings(ctx); err != nil {
		return false, err
	}
	if err := s.LoadQuality(ctx); err != nil {
		return false, err
	}
	s.changes.Store(v)
	return true, nil
}

// FollowChanges calls CheckChanges every poll until ctx ends, so that a
// change made on another instance is in force here within poll.
func (s *Service) FollowChanges(ctx context.Context, poll time.Duration, log *slog.Logger) {
	t := time.NewTicker(poll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := s.CheckChanges(ctx)
		if err != nil && !failing && ctx.Err() == nil {
			log.Error("reading changes made by other instances", "err", err)
		}
		failing = err != nil
	}
}
