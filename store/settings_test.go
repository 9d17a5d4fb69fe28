package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

func TestSettingsSaveAndHistory(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	if err := db.SaveSettings(ctx, []consent.SettingChange{
		{Key: "optin_mode", Old: "single", New: "double", At: at, Actor: "a@example.com"},
		{Key: "help_text.es", Old: "", New: "Hola", At: at, Actor: "a@example.com"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveSettings(ctx, []consent.SettingChange{
		{Key: "optin_mode", Old: "double", New: "single", At: at.Add(time.Hour), Actor: "b@example.com"},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := db.StoredSettings(ctx)
	if err != nil || got["optin_mode"] != "single" || got["help_text.es"] != "Hola" || len(got) != 2 {
		t.Errorf("StoredSettings = %v, %v", got, err)
	}
	hist, err := db.SettingsHistory(ctx, 10)
	if err != nil || len(hist) != 3 || hist[0].Actor != "b@example.com" || hist[0].Old != "double" || !hist[0].At.Equal(at.Add(time.Hour)) {
		t.Errorf("SettingsHistory = %+v, %v", hist, err)
	}
	// A bad key fails the whole save.
	err = db.SaveSettings(ctx, []consent.SettingChange{
		{Key: "jurisdiction", New: "EU", At: at, Actor: "a@example.com"},
		{Key: "Bad Key", New: "x", At: at, Actor: "a@example.com"},
	})
	if !errors.Is(err, consent.ErrConflict) {
		t.Errorf("bad key: %v, want ErrConflict", err)
	}
	if got, _ := db.StoredSettings(ctx); got["jurisdiction"] != "" {
		t.Errorf("half a failed save was kept")
	}
	// The history is append-only.
	for _, q := range []string{`UPDATE settings_history SET new_value = 'x'`, `DELETE FROM settings_history`} {
		if _, err := db.SQL().Exec(q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
}
