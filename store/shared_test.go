package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestSharedCommitsKeepEachApart runs 48 transaction functions at once
// through txShared: those that fail leave nothing and get their own error,
// the others commit (one of them panics: it fails alone); a function whose
// caller's context is cancelled while it runs still commits, with the others.
func TestSharedCommitsKeepEachApart(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.w.Exec(`CREATE TABLE shared_test (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const n = 48
	errs := make([]error, n)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			errs[i] = db.txShared(cctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO shared_test (n) VALUES (?)`, i); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					if i == 1 {
						panic("a bug") // fails this call alone
					}
					return fmt.Errorf("call %d: %w", i, boom)
				case 2:
					cancel() // the caller goes away mid-way
					_, err := tx.ExecContext(ctx, `INSERT INTO shared_test (n) VALUES (?)`, 1000+i)
					return err
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	rows, err := db.r.Query(`SELECT n FROM shared_test`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		got[v] = true
	}
	rows.Close()
	for i := range n {
		switch i % 3 {
		case 1:
			if (i != 1 && !errors.Is(errs[i], boom)) || (i == 1 && errs[i] == nil) || got[i] {
				t.Errorf("call %d: err %v, stored %v; want its own error and nothing stored", i, errs[i], got[i])
			}
		case 2:
			if errs[i] != nil || !got[i] || !got[1000+i] {
				t.Errorf("call %d (cancelled while running): err %v, stored %v %v; want both rows", i, errs[i], got[i], got[1000+i])
			}
		default:
			if errs[i] != nil || !got[i] {
				t.Errorf("call %d: err %v, stored %v", i, errs[i], got[i])
			}
		}
	}
	if len(got) != n/3*2+n/3 {
		t.Errorf("%d rows stored, want %d", len(got), n/3*2+n/3)
	}
}
