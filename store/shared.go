package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Shared commits for independent write transactions (form posts): the
// transactions waiting for the writer at one moment run one after the other
// inside one database transaction and commit together. Each caller returns
// only after that commit, so an answered form post is stored. A transaction
// function that fails leaves nothing and gets its error; the others commit
// (how: commit, below). If the commit fails, every caller of the group gets
// the error.
//
// A statement interrupted by its context rolls back SQLite's whole
// transaction, so the functions run with their caller's context detached
// from its cancellation (context.WithoutCancel): a client going away while
// its turn runs cannot undo the others' work. A caller that goes away
// before its turn is dropped and never runs.
//
// Savepoints (SAVEPOINT, ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT) are
// the same in SQLite and PostgreSQL.

// sharedMax bounds a group; sharedWindow is how long the first call of a
// group waits for others that are on their way (no longer once every
// waiting call is in it, so a lone call does not wait).
const (
	sharedMax    = 64
	sharedWindow = time.Millisecond
)

type sharedReq struct {
	ctx     context.Context
	f       func(ctx context.Context, tx *sql.Tx) error
	err     error
	done    chan struct{}
	waiting atomic.Bool
}

type sharer struct {
	s *DB
	group[*sharedReq]
}

// txShared runs f in a write transaction shared with the other calls of
// txShared waiting at the same time, in a savepoint of its own (see
// above). f gets ctx without its cancellation and must use only tx.
func (s *DB) txShared(ctx context.Context, f func(ctx context.Context, tx *sql.Tx) error) error {
	s.sharedOnce.Do(func() {
		s.shared = &sharer{s: s}
		s.shared.start(sharedWindow, sharedMax, s.shared.commit)
	})
	return s.shared.do(ctx, f)
}

func (c *sharer) do(ctx context.Context, f func(context.Context, *sql.Tx) error) error {
	r := &sharedReq{ctx: ctx, f: f, done: make(chan struct{})}
	r.waiting.Store(true)
	c.waiting.Add(1)
	defer c.answered(&r.waiting)
	select {
	case c.in <- r:
	case <-c.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, wait for the answer even if ctx ends: the write
	// may be committed, and the caller must not report it failed.
	select {
	case <-r.done:
		return r.err
	case <-c.done:
		select {
		case <-r.done:
			return r.err
		default:
			return errClosed
		}
	}
}

// commit runs the group's functions in one transaction and answers each
// call. Most calls succeed, so the first pass runs them one after the other
// with no savepoint, and a bulk (bulk.go) collects their events and consent
// states, written a few statements for the whole group at its end. A
// savepoint makes SQLite copy every page a call first changes into its
// statement journal (a tenth of the writer's time per form post), and an
// event inserted alone costs half again what it costs in a statement of
// many rows.
//
// When a call fails, or the collected writes do at the end, the first pass
// is rolled back whole and every call runs again, each in its savepoint, with
// nothing collected: in the first pass, a call that reads a contact writes
// what the bulk holds, the other calls' writes included, so the call that
// met an error is not always the one to blame. So a failing call costs its
// group one more pass, never another call its answer.
func (c *sharer) commit(calls []*sharedReq) {
	live := calls[:0:0]
	for _, r := range calls {
		if err := r.ctx.Err(); err != nil { // gone before its turn: never runs
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx := context.Background()
	err := c.s.tx(ctx, func(tx *sql.Tx) error {
		return c.run(ctx, tx, live, false)
	})
	if errors.Is(err, errFirstPass) {
		for _, r := range live {
			r.err = nil
		}
		err = c.s.tx(ctx, func(tx *sql.Tx) error {
			return c.run(ctx, tx, live, true)
		})
	}
	for _, r := range live {
		if err != nil && r.err == nil {
			r.err = err
		}
		close(r.done)
	}
}

// errFirstPass rolls back a first pass in which a call or the collected
// writes failed.
var errFirstPass = errors.New("store: the first pass of a shared transaction failed")

// run runs calls in tx, then adds the new contacts' trigram rows. With
// savepoints, each call runs in one and a failing call is rolled back to it
// alone. Without, a bulk collects the calls' events and consent states, and
// the first failure ends the pass with errFirstPass, which rolls back the
// transaction.
func (c *sharer) run(ctx context.Context, tx *sql.Tx, calls []*sharedReq, savepoints bool) error {
	m := newTxMemo()
	c.s.memos.Store(tx, m)
	defer c.s.memos.Delete(tx)
	if err := c.s.deferDigits(ctx, tx, m); err != nil {
		return err
	}
	if !savepoints {
		c.s.beginBulk(tx)
		defer c.s.endBulk(tx)
		for _, r := range calls {
			if err := r.run(tx); err != nil {
				return fmt.Errorf("%w: %w", errFirstPass, err)
			}
		}
		if err := c.s.flush(ctx, tx); err != nil {
			return fmt.Errorf("%w: %w", errFirstPass, err)
		}
		return c.s.indexDeferredDigits(ctx, tx, m)
	}
	for _, r := range calls {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT shared`); err != nil {
			return err
		}
		mark := len(m.digits)
		if r.err = r.run(tx); r.err != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT shared`); err != nil {
				return err
			}
			m.digits = m.digits[:mark] // its contacts are gone with it
		}
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT shared`); err != nil {
			return err
		}
	}
	return c.s.indexDeferredDigits(ctx, tx, m)
}

// txMemo keeps, for one shared transaction, what its calls look up and
// none of them changes (form posts write contacts, events, consents and
// the outbox): the ids of categories and the categories of entry points.
// Each form post would otherwise read them again; the catalog's changes
// run in transactions of their own.
type txMemo struct {
	cats  map[string]int64    // slug → id
	entry map[string][]string // entry point code → its categories
	// On SQLite, the new contacts whose trigram rows the commit adds at its
	// end (deferDigits); nil when it does not defer them.
	digits      []int64
	deferDigits bool
}

func newTxMemo() *txMemo {
	return &txMemo{cats: map[string]int64{}, entry: map[string][]string{}}
}

// memoOf returns the memo of tx, or nil when tx is not a shared one.
func (s *DB) memoOf(tx *sql.Tx) *txMemo {
	if m, ok := s.memos.Load(tx); ok {
		return m.(*txMemo)
	}
	return nil
}

// run calls r's function in tx. A panic in it (a bug) fails that call
// alone, as it would have failed only its own request before the calls
// shared a goroutine, rather than the process.
func (r *sharedReq) run(tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: panic in a shared transaction: %v", p)
		}
	}()
	return r.f(context.WithoutCancel(r.ctx), tx)
}

// entryCategories returns the categories of entry point code when m (nil
// or not) has them. The caller gets its own copy: a decision may append.
func (m *txMemo) entryCategories(code string) ([]string, bool) {
	if m == nil {
		return nil, false
	}
	cats, ok := m.entry[code]
	return slices.Clone(cats), ok
}

func (m *txMemo) keepEntryCategories(code string, cats []string) {
	if m != nil {
		m.entry[code] = slices.Clone(cats)
	}
}

// The trigram rows of a shared commit's new contacts (SQLite; migration
// 0027 says why): deferDigits turns the insert trigger off for the
// transaction, ApplyToNumber notes each contact it creates with
// indexNewContact, and indexDeferredDigits turns the trigger back on and adds the rows of
// the contacts still there, in one statement per 500, before the commit.
// The trigger's expression, for one contact's row:
const digitsOf = `substr(phone, 2) || CASE WHEN wa_id IN ('', substr(phone, 2)) THEN '' ELSE ' ' || wa_id END`

func (s *DB) deferDigits(ctx context.Context, tx *sql.Tx, m *txMemo) error {
	if s.pg {
		return nil // PostgreSQL's trigram index is an index of contacts
	}
	m.deferDigits = true
	_, err := s.exec(ctx, tx, `UPDATE contact_digits_deferred SET deferred = 1`)
	return err
}

// indexNewContact gives the contact id, created in tx while the insert
// trigger was off (deferDigits), its trigram row: at the end of the commit
// when later, else now. It does nothing when tx does not defer the rows.
func (s *DB) indexNewContact(ctx context.Context, tx *sql.Tx, id int64, later bool) error {
	m := s.memoOf(tx)
	switch {
	case m == nil || !m.deferDigits:
		return nil
	case later:
		m.digits = append(m.digits, id)
		return nil
	}
	_, err := s.exec(ctx, tx, `INSERT INTO contact_digits (rowid, digits) SELECT id, `+digitsOf+` FROM contacts WHERE id = ?`, id)
	return err
}

func (s *DB) indexDeferredDigits(ctx context.Context, tx *sql.Tx, m *txMemo) error {
	if !m.deferDigits {
		return nil
	}
	if _, err := s.exec(ctx, tx, `UPDATE contact_digits_deferred SET deferred = 0`); err != nil {
		return err
	}
	for ids := range slices.Chunk(m.digits, bulkLookupKeys) {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		q := `INSERT INTO contact_digits (rowid, digits) SELECT id, ` + digitsOf + ` FROM contacts WHERE id IN (?` +
			strings.Repeat(", ?", len(ids)-1) + `)`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
