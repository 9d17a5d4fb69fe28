package store

import (
	"context"
	"database/sql"
	"time"
)

// PurgeMessageTexts removes the text of messages older than before, both
// ways, and of forwarded calls, keeping ids, kinds and statuses. Messages
// still waiting to be sent keep theirs. Event evidence (the STOP that
// opted someone out) is not a message log and stays, as the ledger's.
func (s *DB) PurgeMessageTexts(ctx context.Context, before time.Time) (int, error) {
	total := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`UPDATE inbound SET text = '' WHERE received_at < ? AND text <> ''`,
			s.pick(`UPDATE outbox SET message = json_set(json_remove(message, '$.text', '$.interactive', '$.contacts',
			     '$.template.preview', '$.template.body_params', '$.template.buttons'), '$.purged', json('true'))
			 WHERE created_at < ? AND status IN ('sent', 'delivered', 'read', 'failed', 'dead')
			   AND json_extract(message, '$.purged') IS NULL`,
				`UPDATE outbox SET message = ((message::jsonb - 'text' - 'interactive' - 'contacts'
			     #- '{template,preview}' #- '{template,body_params}' #- '{template,buttons}') || '{"purged": true}')::text
			 WHERE created_at < ? AND status IN ('sent', 'delivered', 'read', 'failed', 'dead')
			   AND message::jsonb -> 'purged' IS NULL`),
			`UPDATE forwards SET body = '{}' WHERE created_at < ? AND status IN ('sent', 'dead') AND body <> '{}'`,
		} {
			res, err := tx.ExecContext(ctx, q, ts(before))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += int(n)
		}
		return nil
	})
	return total, mapErr("purge message texts", err)
}
