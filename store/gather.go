package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// group is what a group commit (the webhook intake's committer, the form
// posts' sharer) keeps around its gather loop: the calls handed over on
// in, the count of calls on their way, and the loop's end. A call counts
// itself in waiting before it hands itself over, and answered takes it
// out once, whether it was answered or gave up.
type group[T any] struct {
	in       chan T
	waiting  atomic.Int64
	quit     chan struct{}
	stopOnce sync.Once
	done     chan struct{} // closed when the loop has returned
}

// start runs the gather loop in a goroutine of its own.
func (g *group[T]) start(window time.Duration, max int, commit func([]T)) {
	g.in = make(chan T, max)
	g.quit = make(chan struct{})
	g.done = make(chan struct{})
	go func() {
		defer close(g.done)
		gather(g.in, g.quit, window, max, &g.waiting, commit)
	}()
}

// answered stops counting a call as waiting; waiting is the call's own flag.
func (g *group[T]) answered(waiting *atomic.Bool) {
	if waiting.Swap(false) {
		g.waiting.Add(-1)
	}
}

// stop commits what was handed over and ends the loop.
func (g *group[T]) stop() {
	g.stopOnce.Do(func() { close(g.quit) })
	<-g.done
}

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
