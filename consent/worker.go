package consent

import (
	"context"
	"log/slog"
	"time"
)

// drain runs step until it reports nothing left, then waits for the next
// poll or a wake-up, until ctx ends. It is the loop of every background
// worker: the outbox, the inbox and the forwards. step gets ctx and is
// expected to finish what it holds when ctx ends.
func drain(ctx context.Context, poll time.Duration, wake <-chan struct{}, log *slog.Logger, name string,
	step func(context.Context) (int, error)) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			n, err := step(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error(name, "err", err)
			}
			if n == 0 || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}
