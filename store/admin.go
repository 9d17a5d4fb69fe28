package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/optin/optin/consent"
)

const adminColumns = `id, email, role, session_version, created_at, last_login_at, disabled_at`

func scanAdmin(row interface{ Scan(...any) error }, extra ...any) (consent.AdminUser, error) {
	var u consent.AdminUser
	var created, last, disabled string
	dest := append([]any{&u.ID, &u.Email, &u.Role, &u.SessionVersion, &created, &last, &disabled}, extra...)
	if err := row.Scan(dest...); err != nil {
		return consent.AdminUser{}, err
	}
	u.CreatedAt, u.LastLoginAt, u.DisabledAt = parseTS(created), parseTS(last), parseTS(disabled)
	return u, nil
}

// CreateAdmin adds a console user; a taken e-mail is ErrConflict.
func (s *DB) CreateAdmin(ctx context.Context, u consent.AdminUser, passwordHash string, at time.Time) (consent.AdminUser, error) {
	var out consent.AdminUser
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO admin_users (email, password_hash, role, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, u.Email, passwordHash, u.Role, ts(at), ts(at)).Scan(&id); err != nil {
			return err
		}
		var err error
		out, err = scanAdmin(tx.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admin_users WHERE id = ?`, id))
		return err
	})
	return out, mapErr("create admin", err)
}

// AdminByID returns a console user.
func (s *DB) AdminByID(ctx context.Context, id int64) (consent.AdminUser, error) {
	u, err := scanAdmin(s.r.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admin_users WHERE id = ?`, id))
	return u, mapErr("admin by id", err)
}

// AdminByEmail returns a console user and its password hash.
func (s *DB) AdminByEmail(ctx context.Context, email string) (consent.AdminUser, string, error) {
	var hash string
	u, err := scanAdmin(s.r.QueryRowContext(ctx, `SELECT `+adminColumns+`, password_hash FROM admin_users WHERE email = ?`, email), &hash)
	return u, hash, mapErr("admin by email", err)
}

// RecordSignIn sets the user's last sign-in time.
func (s *DB) RecordSignIn(ctx context.Context, id int64, at time.Time) error {
	return s.updateAdmin(ctx, "record sign-in", `UPDATE admin_users SET last_login_at = ? WHERE id = ?`, ts(at), id)
}

// BumpSessionVersion ends every session of the user.
func (s *DB) BumpSessionVersion(ctx context.Context, id int64, at time.Time) (consent.AdminUser, error) {
	if err := s.updateAdmin(ctx, "end sessions", `UPDATE admin_users SET session_version = session_version + 1, updated_at = ? WHERE id = ?`, ts(at), id); err != nil {
		return consent.AdminUser{}, err
	}
	return s.AdminByID(ctx, id)
}

// SetAdminPassword replaces the password hash and ends every session.
func (s *DB) SetAdminPassword(ctx context.Context, id int64, passwordHash string, at time.Time) (consent.AdminUser, error) {
	if err := s.updateAdmin(ctx, "set password", `UPDATE admin_users SET password_hash = ?, session_version = session_version + 1, updated_at = ? WHERE id = ?`,
		passwordHash, ts(at), id); err != nil {
		return consent.AdminUser{}, err
	}
	return s.AdminByID(ctx, id)
}

// updateAdmin runs one UPDATE of a user's row; no such user is ErrNotFound.
func (s *DB) updateAdmin(ctx context.Context, op, query string, args ...any) error {
	res, err := s.execW(ctx, query, args...)
	if err != nil {
		return mapErr(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return consent.ErrNotFound
	}
	return nil
}

// AddAudit appends a line to the admin audit log.
func (s *DB) AddAudit(ctx context.Context, e consent.AuditEntry) error {
	_, err := s.execW(ctx, `INSERT INTO admin_audit (at, actor, actor_id, action, target, detail, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, ts(e.At), e.Actor, e.ActorID, e.Action, e.Target, e.Detail, e.IP)
	return mapErr("add audit", err)
}

// CountActiveAdmins counts users who may sign in.
func (s *DB) CountActiveAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM admin_users WHERE disabled_at = ''`).Scan(&n)
	return n, mapErr("count admins", err)
}
