package consent

import (
	"context"
	"errors"
	"time"
)

// Managing console users from the console: list, change role, revoke. The
// last active admin can neither be demoted nor revoked, by anyone, so that
// the console always keeps someone who can change it.

// ErrLastAdmin is returned by the store when a change would leave no active
// admin.
var ErrLastAdmin = errors.New("last active admin")

// AdminUserStore changes console users.
type AdminUserStore interface {
	ListAdmins(ctx context.Context) ([]AdminUser, error)
	// SetAdminRole changes the role and ends the user's sessions; it
	// returns ErrLastAdmin when the user is the last active admin and the
	// role is not admin.
	SetAdminRole(ctx context.Context, id int64, role Role, at time.Time) (AdminUser, error)
	// DisableAdmin disables the user and ends its sessions; it returns
	// ErrLastAdmin for the last active admin.
	DisableAdmin(ctx context.Context, id int64, at time.Time) (AdminUser, error)
}

// ListAdmins returns every console user, by e-mail.
func (s *Service) ListAdmins(ctx context.Context) ([]AdminUser, error) {
	return s.store.ListAdmins(ctx)
}

// SetAdminRole gives user id the role. The user's sessions end, so that the
// new role applies to every request from now on. Demoting the last active
// admin is a *ValidationError on "role".
func (s *Service) SetAdminRole(ctx context.Context, id int64, role Role) (AdminUser, error) {
	if !role.Valid() {
		return AdminUser{}, &ValidationError{Fields: map[string]string{"role": "admin.role"}}
	}
	u, err := s.store.SetAdminRole(ctx, id, role, s.clock.Now())
	if errors.Is(err, ErrLastAdmin) {
		return AdminUser{}, &ValidationError{Fields: map[string]string{"role": "admin.last_admin"}}
	}
	return u, err
}

// RevokeAdmin disables user id: it can no longer sign in and its sessions
// end at once. Revoking the last active admin is a *ValidationError on
// "user". Revoking a revoked user changes nothing.
func (s *Service) RevokeAdmin(ctx context.Context, id int64) (AdminUser, error) {
	u, err := s.store.DisableAdmin(ctx, id, s.clock.Now())
	if errors.Is(err, ErrLastAdmin) {
		return AdminUser{}, &ValidationError{Fields: map[string]string{"user": "admin.last_admin"}}
	}
	return u, err
}

// AdminByID returns console user id.
func (s *Service) AdminByID(ctx context.Context, id int64) (AdminUser, error) {
	return s.store.AdminByID(ctx, id)
}
