package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Several optin instances may share one database (issue 12). Each handle
// has an instance id, written as the owner of the leases it takes: the
// outbox message it sends, the forwards and webhook calls it processes, the
// jobs it runs. A lease ends at a time; an instance that dies leaves leases
// that the others take over once they end.

// DefaultLease is how long a webhook call or a job is reserved for the
// instance that claimed it, unless InstanceLease says otherwise.
const DefaultLease = 2 * time.Minute

type instance struct {
	once  sync.Once
	id    string
	lease time.Duration
	// seen is the change version this handle last saw (ChangeVersion).
	seen atomic.Int64
}

// handles numbers the handles opened in this process, so that two handles
// without an id of their own (tests, tools) are two instances.
var handles atomic.Int64

// InstanceID names this handle's instance (OPTIN_INSTANCE). Two running
// instances must never share an id: each ends the other's leases at start.
// Without it the id is hostname-pid (and a number for a further handle in
// the same process).
func InstanceID(id string) Option { return func(s *DB) { s.inst.id = id } }

// InstanceLease sets how long this instance reserves a webhook call or a
// job it claimed (OPTIN_SEND_LEASE); DefaultLease when zero.
func InstanceLease(d time.Duration) Option { return func(s *DB) { s.inst.lease = d } }

// Instance returns this handle's instance id.
func (s *DB) Instance() string {
	s.inst.once.Do(func() {
		if s.inst.id != "" {
			return
		}
		s.inst.id = fmt.Sprintf("%s-%d", hostname(), os.Getpid())
		if n := handles.Add(1); n > 1 {
			s.inst.id += fmt.Sprintf(".%d", n)
		}
	})
	return s.inst.id
}

func hostname() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "optin"
	}
	return host
}

// deadOwners returns the owners of live leases that are default ids
// (hostname-pid) of processes of this host that no longer run: an optin
// killed and started again without OPTIN_INSTANCE. Their leases are over
// at once, as a restart's own are.
func (s *DB) deadOwners(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT lease_owner FROM outbox WHERE status = 'sending' AND next_attempt_at > ?
		UNION SELECT lease_owner FROM forwards WHERE status = 'sending' AND next_attempt_at > ?
		UNION SELECT lease_owner FROM inbox WHERE processed_at = '' AND lease_until > ?
		UNION SELECT owner FROM job_leases WHERE lease_until > ?`, ts(now), ts(now), ts(now), ts(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	prefix := hostname() + "-"
	var dead []string
	for rows.Next() {
		var owner string
		if err := rows.Scan(&owner); err != nil {
			return nil, err
		}
		rest, ok := strings.CutPrefix(owner, prefix)
		if !ok || owner == s.Instance() {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, ".", 2)[0])
		if err != nil || pid <= 0 || pid == os.Getpid() || processRuns(pid) {
			continue
		}
		dead = append(dead, owner)
	}
	return dead, rows.Err()
}

// ReleaseLeases ends, at start, the leases that no live instance holds:
// those of this instance's previous run (same instance id, or a default id
// of this host whose process is gone), ownerless ones (from before
// instance ids) and expired ones, never those of an instance at work. A
// message left "sending" was cut off by a crash, perhaps after the
// provider accepted it, and becomes "unknown" rather than being sent
// again; webhook calls, forwards and jobs held are free to take at once.
// It returns how many messages became unknown.
func (s *DB) ReleaseLeases(ctx context.Context, now time.Time) (int, error) {
	owners, err := s.deadOwners(ctx, now)
	if err != nil {
		return 0, mapErr("release leases", err)
	}
	owners = append(owners, s.Instance(), "")
	in := "?" + strings.Repeat(", ?", len(owners)-1)
	args := func(first ...any) []any {
		for _, o := range owners {
			first = append(first, o)
		}
		return first
	}
	var n int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'unknown', updated_at = ?
			WHERE status = 'sending' AND (next_attempt_at <= ? OR lease_owner IN (`+in+`))`, args(ts(now), ts(now))...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE forwards SET next_attempt_at = ?
			WHERE status = 'sending' AND lease_owner IN (`+in+`)`, args(ts(now))...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE inbox SET lease_until = ''
			WHERE processed_at = '' AND lease_owner IN (`+in+`)`, args()...); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM job_leases WHERE owner IN (`+in+`)`, args()...)
		return err
	})
	return int(n), mapErr("release leases", err)
}

// Lease returns how long this instance reserves what it claims.
func (s *DB) Lease() time.Duration {
	if s.inst.lease > 0 {
		return s.inst.lease
	}
	return DefaultLease
}

// TakeJob takes (or renews) the lease of the job called name for d: true
// when this instance may run it, because nobody holds it, its holder's
// lease ended, or this instance holds it already.
func (s *DB) TakeJob(ctx context.Context, name string, d time.Duration, now time.Time) (bool, error) {
	me := s.Instance()
	var owner string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			INSERT INTO job_leases (name, owner, lease_until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET
			    owner = CASE WHEN job_leases.owner = excluded.owner OR job_leases.lease_until <= ? THEN excluded.owner ELSE job_leases.owner END,
			    lease_until = CASE WHEN job_leases.owner = excluded.owner OR job_leases.lease_until <= ? THEN excluded.lease_until ELSE job_leases.lease_until END
			RETURNING owner`, name, me, ts(now.Add(d)), ts(now), ts(now)).Scan(&owner)
	})
	if err != nil {
		return false, mapErr("take job", err)
	}
	return owner == me, nil
}

// DropJob ends this instance's lease of the job called name, so that
// another may take it at once.
func (s *DB) DropJob(ctx context.Context, name string) error {
	_, err := s.execW(ctx, `DELETE FROM job_leases WHERE name = ? AND owner = ?`, name, s.Instance())
	return mapErr("drop job", err)
}

// ReserveSendSlot reserves the installation's next send slot at the rate
// of one per interval and returns when it begins: every instance draws
// from the same row, so OPTIN_SEND_RATE holds for all of them together.
func (s *DB) ReserveSendSlot(ctx context.Context, now time.Time, interval time.Duration) (time.Time, error) {
	var end int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			UPDATE send_state SET next_slot_ns = CASE WHEN next_slot_ns > ? THEN next_slot_ns ELSE ? END + ?
			WHERE id = 1 RETURNING next_slot_ns`, now.UnixNano(), now.UnixNano(), int64(interval)).Scan(&end)
	})
	if err != nil {
		return time.Time{}, mapErr("reserve send slot", err)
	}
	return time.Unix(0, end-int64(interval)), nil
}

// PauseSending stops every instance's sending until until (an account
// error); an earlier until never shortens a pause in force.
func (s *DB) PauseSending(ctx context.Context, until time.Time) error {
	_, err := s.execW(ctx, `UPDATE send_state SET paused_until = CASE WHEN paused_until > ? THEN paused_until ELSE ? END
		WHERE id = 1`, ts(until), ts(until))
	return mapErr("pause sending", err)
}

// SendingPausedUntil returns until when sending is paused (zero: never).
func (s *DB) SendingPausedUntil(ctx context.Context) (time.Time, error) {
	var until string
	err := s.r.QueryRowContext(ctx, `SELECT paused_until FROM send_state WHERE id = 1`).Scan(&until)
	return parseTS(until), mapErr("send pause", err)
}

// ReserveTemplate counts one template towards day's total (a UTC day) when
// fewer than limit were counted, and reports whether it did: the template
// may then be sent. The first reservation of a day starts from the
// templates already sent that day.
func (s *DB) ReserveTemplate(ctx context.Context, day time.Time, limit int) (bool, error) {
	key := day.UTC().Format(time.DateOnly)
	const reserve = `UPDATE send_days SET sent = sent + 1 WHERE day = ? AND sent < ?`
	res, err := s.execW(ctx, reserve, key, limit)
	if err != nil {
		return false, mapErr("reserve template", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return n == 1, mapErr("reserve template", err)
	}
	// The day is full, or not counted yet: start it (unless another
	// instance just did) from what was sent, and try again in the same
	// transaction.
	sent, err := s.TemplatesSentSince(ctx, day)
	if err != nil {
		return false, err
	}
	var n int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO send_days (day, sent) VALUES (?, ?) ON CONFLICT (day) DO NOTHING`, key, sent); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM send_days WHERE day < ?`, day.UTC().AddDate(0, 0, -7).Format(time.DateOnly)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, reserve, key, limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, mapErr("reserve template", err)
}

// ReturnTemplate gives back a template reserved on day that the provider
// did not accept.
func (s *DB) ReturnTemplate(ctx context.Context, day time.Time) error {
	_, err := s.execW(ctx, `UPDATE send_days SET sent = sent - 1 WHERE day = ? AND sent > 0`, day.UTC().Format(time.DateOnly))
	return mapErr("return template", err)
}

// CountUse counts one use of key in its window of length window, which
// starts at the key's first use. When reserve is set a use beyond max is
// refused and not counted (the count stops at max+1). It returns the uses
// of the window, this one included, and when the window ends.
func (s *DB) CountUse(ctx context.Context, key string, max int, window time.Duration, reserve bool, now time.Time) (int, time.Time, error) {
	ceiling := 1 << 30
	if reserve {
		ceiling = max
	}
	var uses int
	var end string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			INSERT INTO form_limits (key, window_end, uses) VALUES (?, ?, 1)
			ON CONFLICT (key) DO UPDATE SET
			    uses = CASE WHEN form_limits.window_end <= ? THEN 1
			                WHEN form_limits.uses <= ? THEN form_limits.uses + 1 ELSE form_limits.uses END,
			    window_end = CASE WHEN form_limits.window_end <= ? THEN excluded.window_end ELSE form_limits.window_end END
			RETURNING uses, window_end`, key, ts(now.Add(window)), ts(now), ceiling, ts(now)).Scan(&uses, &end)
	})
	return uses, parseTS(end), mapErr("count use", err)
}

// Uses returns the uses counted for key in its current window.
func (s *DB) Uses(ctx context.Context, key string, now time.Time) (int, error) {
	var uses int
	err := s.r.QueryRowContext(ctx, `SELECT uses FROM form_limits WHERE key = ? AND window_end > ?`, key, ts(now)).Scan(&uses)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return uses, mapErr("uses", err)
}

// ReturnUse gives back one use of key counted in its current window.
func (s *DB) ReturnUse(ctx context.Context, key string, now time.Time) error {
	_, err := s.execW(ctx, `UPDATE form_limits SET uses = uses - 1 WHERE key = ? AND window_end > ? AND uses > 0`, key, ts(now))
	return mapErr("return use", err)
}

// PruneUses deletes the counts of windows that ended.
func (s *DB) PruneUses(ctx context.Context, now time.Time) (int, error) {
	res, err := s.execW(ctx, `DELETE FROM form_limits WHERE window_end <= ?`, ts(now))
	if err != nil {
		return 0, mapErr("prune uses", err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr("prune uses", err)
}

// ChangeVersion returns the installation's change version, which moves
// with every change of settings, categories, form wordings, API keys and
// the number's standing, made by any instance. When it moved since this
// handle last looked, the handle's own cache (API keys) is dropped first.
func (s *DB) ChangeVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM change_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, mapErr("change version", err)
	}
	if s.inst.seen.Swap(v) != v {
		s.keys.revoked()
	}
	return v, nil
}
