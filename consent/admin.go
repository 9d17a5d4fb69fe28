package consent

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Role is what an admin console user may do.
type Role string

// Roles, mirrored by a CHECK on admin_users.role.
const (
	RoleAdmin  Role = "admin"  // reads and changes
	RoleViewer Role = "viewer" // reads, with phone numbers partly masked
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleViewer }

// AdminUser is a person who signs in to the admin console.
type AdminUser struct {
	ID    int64
	Email string
	Role  Role
	// SessionVersion is carried by each session; a session issued under an
	// older version is refused. Sign-out, a password change, a role change
	// and revocation bump it.
	SessionVersion int64
	CreatedAt      time.Time
	LastLoginAt    time.Time
	DisabledAt     time.Time // zero while the user may sign in
}

// Active reports whether the user may sign in.
func (u AdminUser) Active() bool { return u.DisabledAt.IsZero() }

// AuditEntry is one line of the admin audit log: a sign-in or a change an
// admin made. Actor is the admin's e-mail; Detail is JSON.
type AuditEntry struct {
	ID      int64
	At      time.Time
	Actor   string
	ActorID int64
	Action  string
	Target  string
	Detail  string
	IP      string
}

// AdminStore keeps admin users and the audit log.
type AdminStore interface {
	CreateAdmin(ctx context.Context, u AdminUser, passwordHash string, at time.Time) (AdminUser, error)
	AdminByID(ctx context.Context, id int64) (AdminUser, error)
	// AdminByEmail returns the user and its password hash.
	AdminByEmail(ctx context.Context, email string) (AdminUser, string, error)
	// RecordSignIn sets the user's last sign-in time.
	RecordSignIn(ctx context.Context, id int64, at time.Time) error
	// BumpSessionVersion ends every session of the user.
	BumpSessionVersion(ctx context.Context, id int64, at time.Time) (AdminUser, error)
	// SetAdminPassword replaces the hash and ends every session of the user.
	SetAdminPassword(ctx context.Context, id int64, passwordHash string, at time.Time) (AdminUser, error)
	AddAudit(ctx context.Context, e AuditEntry) error
	// CountActiveAdmins counts users who may sign in.
	CountActiveAdmins(ctx context.Context) (int, error)
}

// ErrBadCredentials is returned by SignIn for an unknown e-mail, a wrong
// password and a disabled account alike, so that the answer tells nothing.
var ErrBadCredentials = fmt.Errorf("bad credentials")

// MinPasswordLength is the shortest password the console accepts.
const MinPasswordLength = 12

// AddAdmin creates a console user. An empty password generates one, which is
// returned so that it can be shown once.
func (s *Service) AddAdmin(ctx context.Context, email, password string, role Role) (AdminUser, string, error) {
	verr := &ValidationError{}
	email, ok := normalizeEmail(email)
	if !ok {
		verr.Add("email", "admin.email")
	}
	if !role.Valid() {
		verr.Add("role", "admin.role")
	}
	if password == "" {
		password = GeneratePassword()
	} else if len([]rune(password)) < MinPasswordLength || len(password) > 1024 {
		verr.Add("password", "admin.password_length")
	}
	if err := verr.OrNil(); err != nil {
		return AdminUser{}, "", err
	}
	u, err := s.store.CreateAdmin(ctx, AdminUser{Email: email, Role: role}, HashPassword(password), s.clock.Now())
	return u, password, err
}

// SignIn checks an e-mail and password. Every failure is ErrBadCredentials,
// and an unknown e-mail costs the same hashing work as a wrong password.
// With a wrong password for an existing account the account (ID, Email) is
// returned too, for the audit log; the person signing in is never told.
func (s *Service) SignIn(ctx context.Context, email, password string) (AdminUser, error) {
	email, _ = normalizeEmail(email)
	u, hash, err := s.store.AdminByEmail(ctx, email)
	if err == ErrNotFound {
		CheckPassword(dummyHash(), password)
		return AdminUser{}, ErrBadCredentials
	}
	if err != nil {
		return AdminUser{}, err
	}
	if !CheckPassword(hash, password) || !u.Active() {
		return AdminUser{ID: u.ID, Email: u.Email}, ErrBadCredentials
	}
	now := s.clock.Now()
	if err := s.store.RecordSignIn(ctx, u.ID, now); err != nil {
		return AdminUser{}, err
	}
	u.LastLoginAt = now
	return u, nil
}

// AdminSession returns the user of a session issued under version, or
// ErrNotFound when the user is gone, disabled, or the session was ended.
func (s *Service) AdminSession(ctx context.Context, id, version int64) (AdminUser, error) {
	u, err := s.store.AdminByID(ctx, id)
	if err != nil {
		return AdminUser{}, err
	}
	if !u.Active() || u.SessionVersion != version {
		return AdminUser{}, ErrNotFound
	}
	return u, nil
}

// HasAdmins reports whether anybody can sign in to the console yet.
func (s *Service) HasAdmins(ctx context.Context) (bool, error) {
	n, err := s.store.CountActiveAdmins(ctx)
	return n > 0, err
}

// SignOut ends every session of the user.
func (s *Service) SignOut(ctx context.Context, id int64) error {
	_, err := s.store.BumpSessionVersion(ctx, id, s.clock.Now())
	return err
}

// ChangePassword replaces the user's password after checking the current
// one, and ends every session of the user; the returned user carries the new
// session version, so the caller can re-issue its own session.
func (s *Service) ChangePassword(ctx context.Context, id int64, current, next string) (AdminUser, error) {
	u, err := s.store.AdminByID(ctx, id)
	if err != nil {
		return AdminUser{}, err
	}
	_, hash, err := s.store.AdminByEmail(ctx, u.Email)
	if err != nil {
		return AdminUser{}, err
	}
	verr := &ValidationError{}
	if !CheckPassword(hash, current) {
		verr.Add("current", "admin.password_wrong")
	}
	if len([]rune(next)) < MinPasswordLength || len(next) > 1024 {
		verr.Add("password", "admin.password_length")
	}
	if err := verr.OrNil(); err != nil {
		return AdminUser{}, err
	}
	return s.store.SetAdminPassword(ctx, id, HashPassword(next), s.clock.Now())
}

// Audit appends e to the admin audit log at the current time. Detail, when
// empty, is stored as {}.
func (s *Service) Audit(ctx context.Context, e AuditEntry) error {
	e.At = s.clock.Now()
	e.IP = TruncateIP(e.IP)
	if e.Detail == "" {
		e.Detail = "{}"
	}
	if !json.Valid([]byte(e.Detail)) {
		return fmt.Errorf("consent: audit detail is not JSON")
	}
	return s.store.AddAudit(ctx, e)
}

func normalizeEmail(email string) (string, bool) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email, "@") {
		return email, false
	}
	return email, true
}

// GeneratePassword returns a random password of 120 bits, readable enough
// to be copied once.
func GeneratePassword() string {
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// argon2id parameters: OWASP's 19 MiB, 2 passes, 1 lane.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a password with argon2id into the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so that parameters can change later.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches hash, comparing in
// constant time.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the e-mail is unknown, so that a
// sign-in for an unknown account takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() string { return HashPassword(GeneratePassword()) })
