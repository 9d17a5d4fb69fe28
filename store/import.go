package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

const importJobColumns = `id, actor, filename, status, total, processed, applied, unchanged, refused, problems, error, created_at, updated_at`

// CreateImportJob stores a checked import with its file and dry-run report.
// Files of checked jobs left unconfirmed for a day are dropped meanwhile:
// they hold phone numbers.
func (s *DB) CreateImportJob(ctx context.Context, j consent.ImportJob, data []byte) (int64, error) {
	problems, err := json.Marshal(orEmpty(j.Problems))
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(j.CreatedAt)
		stale := ts(j.CreatedAt.Add(-24 * time.Hour))
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_files WHERE job_id IN
			(SELECT id FROM import_jobs WHERE status = 'checked' AND created_at < ?)`, stale); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE import_jobs SET status = 'failed', error = 'not confirmed within a day',
			finished_at = ?, updated_at = ? WHERE status = 'checked' AND created_at < ?`, now, now, stale); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO import_jobs (actor, filename, status, total, applied, unchanged, refused,
			problems, created_at, updated_at) VALUES (?, ?, 'checked', ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			j.Actor, j.Filename, j.Total, j.Applied, j.Unchanged, j.Refused, string(problems), now, now).Scan(&id)
		if err != nil || len(data) == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO import_files (job_id, data) VALUES (?, ?)`, id, data)
		return err
	})
	return id, mapErr("create import job", err)
}

func orEmpty(p []consent.RowProblem) []consent.RowProblem {
	if p == nil {
		return []consent.RowProblem{}
	}
	return p
}

func scanImportJob(row interface{ Scan(...any) error }) (consent.ImportJob, error) {
	var j consent.ImportJob
	var status, problems, created, updated string
	err := row.Scan(&j.ID, &j.Actor, &j.Filename, &status, &j.Total, &j.Processed, &j.Applied, &j.Unchanged,
		&j.Refused, &problems, &j.Error, &created, &updated)
	if err != nil {
		return j, err
	}
	j.Status, j.CreatedAt, j.UpdatedAt = consent.ImportStatus(status), parseTS(created), parseTS(updated)
	if err := json.Unmarshal([]byte(problems), &j.Problems); err != nil {
		return j, fmt.Errorf("import job %d problems: %w", j.ID, err)
	}
	return j, nil
}

// ImportJob returns an import job without its file.
func (s *DB) ImportJob(ctx context.Context, id int64) (consent.ImportJob, error) {
	j, err := scanImportJob(s.r.QueryRowContext(ctx, `SELECT `+importJobColumns+` FROM import_jobs WHERE id = ?`, id))
	return j, mapErr("import job", err)
}

// ImportData returns the file of an import job.
func (s *DB) ImportData(ctx context.Context, id int64) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT coalesce((SELECT data FROM import_files WHERE job_id = j.id), x'')
		FROM import_jobs j WHERE j.id = ?`, id).Scan(&data)
	return data, mapErr("import data", err)
}

// StartImportJob moves a checked job to running, its counts back to zero
// for the real run. ErrConflict when the job is not checked.
func (s *DB) StartImportJob(ctx context.Context, id int64, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE import_jobs SET status = 'running', processed = 0, applied = 0, unchanged = 0,
			refused = 0, problems = '[]', updated_at = ? WHERE id = ? AND status = 'checked'`, ts(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM import_jobs WHERE id = ?`, id).Scan(&status); err != nil {
			return err
		}
		return consent.ErrConflict
	})
	return mapErr("start import job", err)
}

// ImportBatch applies the rows of one batch of a running job and adds them
// to its counts, in one transaction: a job resumed after a stop finds the
// counts of exactly the batches that were applied.
//
// The batch is recorded in bulk (bulk.go): the numbers' contacts, consents
// and erasures are read for the whole batch at once, each row is decided
// by consent.DecideReport on that state (as RecordConsent would, earlier
// rows of the batch included) and recorded by the record step, whose
// events, consent states and new contacts are then written a few hundred
// rows per statement.
func (s *DB) ImportBatch(ctx context.Context, id int64, items []consent.ImportItem, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var problemsJSON string
		if err := s.queryRow(ctx, tx, `SELECT problems FROM import_jobs WHERE id = ? AND status = 'running'`, id).
			Scan(&problemsJSON); err != nil {
			return err
		}
		var problems []consent.RowProblem
		if err := json.Unmarshal([]byte(problemsJSON), &problems); err != nil {
			return err
		}
		var applied, unchanged, refused int
		refuse := func(p consent.RowProblem) {
			refused++
			if len(problems) < consent.MaxImportProblems {
				problems = append(problems, p)
			}
		}
		ws := make([]consent.ConsentWrite, 0, len(items))
		for _, it := range items {
			if it.Problem == nil {
				if it.Write.Idempotency != nil {
					return errors.New("import rows have no idempotency key")
				}
				ws = append(ws, it.Write)
			}
		}
		states, erased, err := s.importStates(ctx, tx, ws)
		if err != nil {
			return err
		}
		b := s.beginBulk(tx)
		defer s.endBulk(tx)
		for _, it := range items {
			if it.Problem != nil {
				refuse(*it.Problem)
				continue
			}
			w := it.Write
			st := states[consent.MatchKey(w.Phone)]
			t, err := consent.DecideReport(st.consents, st.id != 0, erased[w.PhoneHash], w)
			switch {
			case errors.Is(err, consent.ErrConflict):
				refuse(*consent.ImportRefusal(it.Row, err))
				continue
			case err != nil:
				return err
			case len(t) == 0:
				unchanged++
				continue
			}
			waID := strings.TrimPrefix(w.Phone, "+")
			if st.id == 0 {
				if st.id, err = b.newContact(ctx, s, tx, w.Phone, waID, w.Lang, w.At); err != nil {
					return err
				}
			}
			snap := consent.Snapshot{Contact: consent.Contact{ID: st.id, Phone: w.Phone, WaID: waID, Status: consent.Active},
				Consents: st.consents}
			if err := s.record(ctx, tx, snap, consent.Plan{At: w.OccurredAt, RecordedAt: w.At, Lang: w.Lang,
				Wording: w.Wording, Evidence: w.Evidence, Transitions: t}); err != nil {
				return err
			}
			st.apply(t, w.OccurredAt, w.Evidence.Source)
			applied++
		}
		if err := s.flush(ctx, tx); err != nil {
			return err
		}
		pj, err := json.Marshal(orEmpty(problems))
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE import_jobs SET processed = processed + ?, applied = applied + ?,
			unchanged = unchanged + ?, refused = refused + ?, problems = ?, updated_at = ? WHERE id = ?`,
			len(items), applied, unchanged, refused, string(pj), ts(now), id)
		return err
	})
	return mapErr("import batch", err)
}

// FinishImportJob ends a job and empties its file.
func (s *DB) FinishImportJob(ctx context.Context, id int64, status consent.ImportStatus, msg string, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_files WHERE job_id = ?`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE import_jobs SET status = ?, error = ?, finished_at = ?, updated_at = ?
			WHERE id = ?`, string(status), msg, ts(now), ts(now), id)
		return err
	})
	return mapErr("finish import job", err)
}

// RunningImportJobs lists the ids of the jobs marked running.
func (s *DB) RunningImportJobs(ctx context.Context) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM import_jobs WHERE status = 'running' ORDER BY id`)
	if err != nil {
		return nil, mapErr("running import jobs", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, mapErr("running import jobs", err)
		}
		ids = append(ids, id)
	}
	return ids, mapErr("running import jobs", rows.Err())
}
