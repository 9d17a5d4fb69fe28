package store

import (
	"sync/atomic"
	"time"
)

// gather is the loop of a group commit (the webhook intake's committer and
// the form posts' sharer): it takes the first call handed over on in, then
// whatever else arrives within window, up to max, and stops waiting as soon
// as every call counted in waiting is in the group; commit runs the group.
// When quit closes, what was already handed over is committed and gather
// returns.
func gather[T any](in <-chan T, quit <-chan struct{}, window time.Duration, max int, waiting *atomic.Int64, commit func([]T)) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var group []T
		select {
		case r := <-in:
			group = append(group, r)
		case <-quit:
			for {
				select {
				case r := <-in:
					group = append(group, r)
					continue
				default:
				}
				break
			}
			if len(group) > 0 {
				commit(group)
			}
			return
		}
		timer.Reset(window)
	collect:
		for len(group) < max && int64(len(group)) < waiting.Load() {
			select {
			case r := <-in:
				group = append(group, r)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		commit(group)
	}
}
