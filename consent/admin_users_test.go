package consent_test

import (
	"context"
	"errors"
	"testing"

	"github.com/optin/optin/consent"
)

func TestAdminUsersLastAdminStays(t *testing.T) {
	_, svc, _, _, _ := setup(t)
	ctx := context.Background()
	ann, _, err := svc.AddAdmin(ctx, "ann@example.com", "", consent.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	vic, _, _ := svc.AddAdmin(ctx, "vic@example.com", "", consent.RoleViewer)

	var verr *consent.ValidationError
	if _, err := svc.SetAdminRole(ctx, ann.ID, consent.RoleViewer); !errors.As(err, &verr) || verr.Fields["role"] != "admin.last_admin" {
		t.Errorf("demoting the last admin: %v, want admin.last_admin", err)
	}
	if _, err := svc.RevokeAdmin(ctx, ann.ID); !errors.As(err, &verr) || verr.Fields["user"] != "admin.last_admin" {
		t.Errorf("revoking the last admin: %v, want admin.last_admin", err)
	}
	if _, err := svc.AdminSession(ctx, ann.ID, ann.SessionVersion); err != nil {
		t.Errorf("the last admin's session ended after refused changes: %v", err)
	}

	// With a second admin, the first can step down; the change ends the sessions.
	if _, err := svc.SetAdminRole(ctx, vic.ID, consent.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	u, err := svc.SetAdminRole(ctx, ann.ID, consent.RoleViewer)
	if err != nil || u.Role != consent.RoleViewer {
		t.Fatalf("SetAdminRole = %+v, %v", u, err)
	}
	if _, err := svc.AdminSession(ctx, ann.ID, ann.SessionVersion); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("session after a role change: %v, want ended", err)
	}
	// Now vic is the last admin.
	if _, err := svc.RevokeAdmin(ctx, vic.ID); !errors.As(err, &verr) {
		t.Errorf("revoking the new last admin: %v, want refused", err)
	}
	r, err := svc.RevokeAdmin(ctx, ann.ID)
	if err != nil || r.Active() {
		t.Fatalf("RevokeAdmin = %+v, %v", r, err)
	}
	if _, err := svc.AdminSession(ctx, ann.ID, r.SessionVersion); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("a revoked user's session: %v, want refused", err)
	}
	if _, err := svc.SignIn(ctx, "ann@example.com", "whatever-password"); !errors.Is(err, consent.ErrBadCredentials) {
		t.Errorf("a revoked user signs in: %v", err)
	}
	if _, err := svc.SetAdminRole(ctx, 999, consent.RoleAdmin); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
	if _, err := svc.SetAdminRole(ctx, vic.ID, "owner"); !errors.As(err, &verr) {
		t.Errorf("unknown role: %v, want a validation error", err)
	}
	all, _ := svc.ListAdmins(ctx)
	if len(all) != 2 || all[0].Email != "ann@example.com" {
		t.Errorf("ListAdmins = %+v", all)
	}
}

func TestAPIKeyListAndRevoke(t *testing.T) {
	_, svc, _, _, clk := setup(t)
	ctx := context.Background()
	key, k, err := svc.CreateAPIKey(ctx, "crm", "write")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, key); err != nil {
		t.Fatal(err)
	}
	keys, err := svc.APIKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Name != "crm" || keys[0].Scope != "write" || !keys[0].LastUsedAt.Equal(clk.Now()) || !keys[0].RevokedAt.IsZero() {
		t.Fatalf("APIKeys = %+v, %v", keys, err)
	}
	r, err := svc.RevokeAPIKey(ctx, k.ID)
	if err != nil || r.RevokedAt.IsZero() {
		t.Fatalf("RevokeAPIKey = %+v, %v", r, err)
	}
	if _, err := svc.Authenticate(ctx, key); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("revoked key authenticates: %v", err)
	}
	if _, err := svc.RevokeAPIKey(ctx, 999); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown key: %v, want ErrNotFound", err)
	}
}
