package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/optin/optin/consent"
)

// ListAdmins returns every console user, by e-mail.
func (s *DB) ListAdmins(ctx context.Context) ([]consent.AdminUser, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+adminColumns+` FROM admin_users ORDER BY email`)
	if err != nil {
		return nil, mapErr("list admins", err)
	}
	defer rows.Close()
	var out []consent.AdminUser
	for rows.Next() {
		u, err := scanAdmin(rows)
		if err != nil {
			return nil, mapErr("list admins", err)
		}
		out = append(out, u)
	}
	return out, mapErr("list admins", rows.Err())
}

// SetAdminRole changes a user's role and ends its sessions, refusing to
// demote the last active admin.
func (s *DB) SetAdminRole(ctx context.Context, id int64, role consent.Role, at time.Time) (consent.AdminUser, error) {
	return s.changeAdmin(ctx, "set admin role", id, role != consent.RoleAdmin,
		`UPDATE admin_users SET role = ?, session_version = session_version + 1, updated_at = ? WHERE id = ? AND role != ?`,
		role, ts(at), id, role)
}

// DisableAdmin disables a user and ends its sessions, refusing to disable
// the last active admin. A disabled user stays as it is.
func (s *DB) DisableAdmin(ctx context.Context, id int64, at time.Time) (consent.AdminUser, error) {
	return s.changeAdmin(ctx, "disable admin", id, true,
		`UPDATE admin_users SET disabled_at = ?, session_version = session_version + 1, updated_at = ? WHERE id = ? AND disabled_at = ''`,
		ts(at), ts(at), id)
}

// changeAdmin runs update on user id in one transaction. When removesAdmin,
// the update is refused with ErrLastAdmin if the user is the only active
// admin.
func (s *DB) changeAdmin(ctx context.Context, op string, id int64, removesAdmin bool, update string, args ...any) (consent.AdminUser, error) {
	var out consent.AdminUser
	err := s.tx(ctx, func(tx *sql.Tx) error {
		u, err := scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admin_users WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if removesAdmin && u.Role == consent.RoleAdmin && u.Active() {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM admin_users WHERE role = 'admin' AND disabled_at = '' AND id != ?`,
				id).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return consent.ErrLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, update, args...); err != nil {
			return err
		}
		out, err = scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admin_users WHERE id = ?`, id))
		return err
	})
	if err == consent.ErrLastAdmin {
		return consent.AdminUser{}, err
	}
	return out, mapErr(op, err)
}
