package store

import (
	"context"
	"fmt"
	"time"
)

// Erasure must reach the disk, not only the database: SQLite's WAL keeps
// the pages an erasure rewrote (with the number, the texts and the name in
// their old versions) until a checkpoint copies the new pages into the
// database file, and secure_delete does not reach WAL frames. So after an
// erasure commits, the WAL is checkpointed and truncated before the erasure
// is reported done. A checkpoint can only finish when no reader still
// needs the old frames: it waits (busy_timeout) and is tried again a few
// times before giving up with an error.
//
// A webhook's stored body (inbox) is emptied after it is processed, which
// for a Decline or a STOP while the terms are pending is after the erasure
// it caused: FinishInbox checkpoints again when an erasure happened since its
// last checkpoint, so that the emptied body reaches the file too.

// checkpointTries bounds the checkpoints tried after an erasure.
const checkpointTries = 5

// checkpointErased checkpoints and truncates the WAL after an erasure,
// retrying while readers hold it.
func (s *DB) checkpointErased(ctx context.Context) error {
	s.erasedSinceInbox.Store(true)
	return s.checkpointWAL(ctx)
}

// checkpointWAL checkpoints and truncates the WAL, retrying while readers
// hold it.
func (s *DB) checkpointWAL(ctx context.Context) error {
	if s.pg {
		// PostgreSQL's WAL is the operator's: archived or recycled by its own
		// settings (docs/POSTGRES.md).
		return nil
	}
	for try := 1; ; try++ {
		var busy, logFrames, moved int
		if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &moved); err != nil {
			return mapErr("checkpoint after erasure", err)
		}
		if busy == 0 {
			return nil
		}
		if try == checkpointTries {
			return fmt.Errorf("store: checkpoint after erasure: readers held the WAL through %d tries; the erased data is gone from the database but may remain in the -wal file until the next checkpoint", try)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(try) * 50 * time.Millisecond):
		}
	}
}

// checkpointAfterInbox is FinishInbox's part: a checkpoint when an erasure
// happened since the last one that an emptied inbox body may belong to.
func (s *DB) checkpointAfterInbox(ctx context.Context) error {
	if !s.erasedSinceInbox.Swap(false) {
		return nil
	}
	return s.checkpointWAL(ctx)
}
