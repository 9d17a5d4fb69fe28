package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/optin/optin/consent"
)

// SaveInbox stores a webhook body; the call may be acknowledged once this
// returns without error. Concurrent calls are committed together (see
// committer): each returns only after the transaction holding its body has
// committed.
func (s *DB) SaveInbox(ctx context.Context, body []byte, now time.Time) (int64, error) {
	id, err := s.inbox.save(ctx, body, now)
	return id, mapErr("save inbox", err)
}

const insertInbox = `INSERT INTO inbox (body, received_at) VALUES (?, ?) RETURNING id`

// Group commit of webhook intake. Webhook calls are small and many (a
// status for every message sent, read receipts, replies); one transaction
// each spends most of its time in BEGIN and COMMIT and queues every call
// behind the one before. The committer gathers the calls waiting at a
// moment into one transaction: it starts with the first, adds whatever
// arrives within groupWindow (at most groupMax), and commits early once
// every call waiting in SaveInbox is in the batch, so that a lone call
// waits for nothing. A call whose insert fails is answered with its error
// and the others still commit; if the commit fails, every call of the batch
// gets the error, and none was acknowledged.
const (
	groupWindow = time.Millisecond
	groupMax    = 256
)

type inboxReq struct {
	ctx  context.Context
	body []byte
	at   time.Time
	id   int64
	err  error
	done chan struct{}
	// waiting counts the call in committer.waiting until it is answered
	// or gives up, whichever comes first.
	waiting atomic.Bool
}

type committer struct {
	s                *DB
	group[*inboxReq] // waiting: the calls inside save
}

func newCommitter(s *DB) *committer {
	c := &committer{s: s}
	c.start(groupWindow, groupMax, c.commit)
	return c
}

var errClosed = errors.New("the database is closed")

func (c *committer) save(ctx context.Context, body []byte, at time.Time) (int64, error) {
	r := &inboxReq{ctx: ctx, body: body, at: at, done: make(chan struct{})}
	r.waiting.Store(true)
	c.waiting.Add(1)
	defer c.answered(&r.waiting)
	select {
	case c.in <- r:
	case <-c.done:
		return 0, errClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case <-r.done:
		return r.id, r.err
	case <-ctx.Done():
		// The body may still commit; the caller answers an error and the
		// provider sends it again, as it would after any failure.
		return 0, ctx.Err()
	case <-c.done:
		select {
		case <-r.done:
			return r.id, r.err
		default:
			return 0, errClosed
		}
	}
}

// commit stores batch in one transaction and answers each call.
func (c *committer) commit(batch []*inboxReq) {
	// The transaction does not use the callers' contexts: one caller going
	// away must not interrupt (and so roll back) the others' inserts.
	ctx := context.Background()
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			c.answered(&r.waiting)
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := c.s.txAppend(ctx, func(tx *sql.Tx) error {
		for _, r := range live {
			r.err = c.s.queryRow(ctx, tx, insertInbox, r.body, ts(r.at)).Scan(&r.id)
		}
		return nil
	})
	for _, r := range live {
		if err != nil && r.err == nil {
			r.err, r.id = err, 0
		}
		c.answered(&r.waiting)
		close(r.done)
	}
}

// PendingInbox claims up to limit unprocessed webhook calls for this
// instance, oldest first, and returns them: calls nobody holds, calls whose
// lease ended (their instance died) and calls this instance holds already
// (one it retries keeps its place). Another instance skips them until the
// lease ends.
func (s *DB) PendingInbox(ctx context.Context, limit int) ([]consent.InboxItem, error) {
	var out []consent.InboxItem
	now := time.Now()
	me := s.Instance()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return s.query(ctx, tx, `
			UPDATE inbox SET lease_owner = ?, lease_until = ?
			WHERE id IN (SELECT id FROM inbox WHERE processed_at = '' AND (lease_until <= ? OR lease_owner = ?)
			             ORDER BY id LIMIT ? /*skip locked*/)
			RETURNING id, body, attempts`, []any{me, ts(now.Add(s.Lease())), ts(now), me, limit}, func(rows *sql.Rows) error {
			var it consent.InboxItem
			if err := rows.Scan(&it.ID, &it.Body, &it.Attempts); err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, mapErr("pending inbox", err)
	}
	// RETURNING gives no order guarantee; process in arrival order.
	slices.SortFunc(out, func(a, b consent.InboxItem) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// FinishInbox marks a webhook call processed; errText records why it could
// not be, after which it is not tried again. A processed body is emptied:
// what it said now lives in the tables (and goes with an erasure), so the
// raw copy would only keep numbers and texts beyond their time.
func (s *DB) FinishInbox(ctx context.Context, id int64, errText string, now time.Time) error {
	_, err := s.execW(ctx, `UPDATE inbox SET processed_at = ?, error = ?, attempts = attempts + 1,
		body = CASE WHEN ? = '' THEN x'' ELSE body END WHERE id = ?`,
		ts(now), errText, errText, id)
	if err == nil {
		err = s.checkpointAfterInbox(ctx) // an emptied body of an erased contact reaches the disk (erase_disk.go)
	}
	return mapErr("finish inbox", err)
}

// FinishInboxBatch marks the webhook calls ids processed without error
// (their bodies emptied, as FinishInbox does) in one transaction.
func (s *DB) FinishInboxBatch(ctx context.Context, ids []int64, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := s.exec(ctx, tx, `UPDATE inbox SET processed_at = ?, error = '', attempts = attempts + 1,
				body = x'' WHERE id = ?`, ts(now), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = s.checkpointAfterInbox(ctx) // an emptied body of an erased contact reaches the disk (erase_disk.go)
	}
	return mapErr("finish inbox", err)
}

// RetryInbox counts a failed attempt and leaves the call pending.
func (s *DB) RetryInbox(ctx context.Context, id int64, errText string) error {
	_, err := s.execW(ctx, `UPDATE inbox SET attempts = attempts + 1, error = ? WHERE id = ?`, errText, id)
	return mapErr("retry inbox", err)
}
