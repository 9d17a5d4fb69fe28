package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store/storetest"
)

// copyEnds opens the two ends of a copy: a new SQLite file and a new
// PostgreSQL database. The copy tests run in the SQLite run of the suite
// only (they use both engines either way).
func copyEnds(t *testing.T) (src, dst *DB) {
	t.Helper()
	if engine == "postgres" {
		t.Skip("the copy's tests run once, in the SQLite run: they use both engines")
	}
	ctx := context.Background()
	src, err := Open(ctx, filepath.Join(t.TempDir(), "optin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	dst, err = Open(ctx, storetest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	return src, dst
}

// populate fills an SQLite database with something in (nearly) every table,
// through the store's own methods where there is one: seeded contacts with
// their chain, opt-ins with wordings and welcomes, a WhatsApp conversation,
// an erased contact, the console's users and audit, API keys and an
// idempotent write, settings, entry points, catalog changes, the inbox,
// forwards, imports, alerts, account updates, ledger checks.
func populate(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := db.Seed(ctx, SeedOptions{Contacts: 300, Events: 900, Seed: 7, Start: t0.Add(-300 * 24 * time.Hour)})
	must(err)

	a, err := db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "offers", "order_updates"))
	must(err)
	b, err := db.FixtureOptIn(ctx, optIn("+4915112345679", consent.Pending, t0.Add(time.Minute), "recommendations"))
	must(err)
	_, err = db.FixtureChange(ctx, ChangeFixture{ContactID: a.Contact.ID, At: t0.Add(2 * time.Minute), Type: consent.EventOptOut,
		Evidence: consent.Evidence{Source: consent.SourceWhatsAppReply, MessageID: "wamid.stop", MessageText: "STOP offers – ¡adiós! 👋"},
		Set:      map[string]consent.State{"offers": consent.OptedOut}})
	must(err)
	_, _, err = db.FixtureInbound(ctx, consent.InboundRecord{Phone: "+12025550123", Lang: "en", At: t0.Add(3 * time.Minute),
		Message: consent.InboundMessage{ID: "wamid.in1", From: "12025550123", Type: "text", Text: "START HELLO"}})
	must(err)
	must(db.EraseContact(ctx, b.Contact.ID, consent.Tombstone{PhoneHash: strings.Repeat("ab", 32), Reason: "person",
		At: t0.Add(time.Hour), Event: consent.EventErased, Source: consent.SourcePreferenceCenter}))

	admin, err := db.CreateAdmin(ctx, consent.AdminUser{Email: "a@example.com", Role: consent.RoleAdmin}, "$argon2id$x", t0)
	must(err)
	must(db.AddAudit(ctx, consent.AuditEntry{At: t0, Actor: admin.Email, ActorID: admin.ID, Action: "sign_in", IP: "203.0.113.0/24"}))
	key, err := db.CreateAPIKey(ctx, consent.APIKey{Name: "shop", Prefix: "op_1234", Scope: "write"}, strings.Repeat("cd", 32), t0)
	must(err)
	w := consent.ConsentWrite{Phone: "+4915112345670", PhoneHash: "h", Category: "offers", State: consent.OptedIn,
		OccurredAt: t0, At: t0.Add(4 * time.Minute), Lang: "de",
		Evidence:    consent.Evidence{Source: consent.SourceAPI, Actor: "api:shop", Detail: map[string]string{"order": "42"}},
		Idempotency: &consent.Idempotency{KeyID: key.ID, Key: "req-1", RequestHash: "r1"}}
	_, err = db.RecordConsent(ctx, w)
	must(err)
	must(db.SaveSettings(ctx, []consent.SettingChange{{Key: "optin_mode", Old: "single", New: "double", At: t0, Actor: admin.Email}}))
	_, err = db.CreateCategory(ctx, category("events", false, "Events"), t0)
	must(err)
	_, err = db.CreateEntryPoint(ctx, consent.EntryPoint{Code: "SPRING", Name: "Spring posters", Categories: []string{"offers"}}, t0)
	must(err)
	_, err = db.ChooseFormWording(ctx, consent.NewWording("consent", "en", "I agree."),
		consent.NewWording("consent", "en", "I agree, and I know I can stop."), "admin:a@example.com", t0)
	must(err)
	_, err = db.SaveInbox(ctx, []byte(`{"entry":[]}`), t0)
	must(err)
	must(db.EnqueueForward(ctx, a.Contact.ID, []byte(`{"type":"message"}`), t0))
	_, err = db.CreateImportJob(ctx, consent.ImportJob{Actor: "admin:a@example.com", Filename: "f.csv", Total: 1,
		Status: consent.ImportChecked, CreatedAt: t0}, []byte("phone\n+4915112345671\n"))
	must(err)
	// Tokens of one instant, in an order their hashes do not share: which
	// is newest is known by insertion order only (rowid; seq on PostgreSQL).
	for _, h := range []string{"f0", "0f", "aa", "11"} {
		must(db.AddPreferenceToken(ctx, a.Contact.ID, strings.Repeat(h, 32), t0, 3))
	}
	must(db.AddAlert(ctx, consent.Alert{Kind: "template", Code: 132001, Title: "template missing", At: t0}))
	must(db.AddAccountUpdate(ctx, consent.AccountUpdate{Field: consent.FieldQuality, Event: "FLAGGED", QualityRating: "RED"}, t0))
	_, err = db.Secret(ctx, "link_key", 32)
	must(err)
	_, err = db.w.ExecContext(ctx, `INSERT INTO farewells (wa_id, message, created_at) VALUES ('4915112345699', '{}', ?)`, ts(t0))
	must(err)
	// The state several instances share (migration 0022).
	for _, q := range []string{
		`INSERT INTO job_leases (name, owner, lease_until) VALUES ('retention', 'host-1', '2026-11-01T10:05:00Z')`,
		`INSERT INTO send_days (day, sent) VALUES ('2026-11-01', 3)`,
		`INSERT INTO form_limits (key, window_end, uses) VALUES ('k1', '2026-11-01T11:00:00Z', 2)`,
	} {
		_, err = db.w.ExecContext(ctx, q)
		must(err)
	}
	rep, err := db.VerifyLedger(ctx, t0.Add(2*time.Hour))
	must(err)
	if !rep.OK() {
		t.Fatalf("the source's ledger does not verify: %+v", rep)
	}
}

// TestCopyToPostgres: an SQLite installation copied into PostgreSQL answers
// the same for every contact, holds the same rows, verifies its chain, goes
// on writing where the source stopped, and cannot be copied into twice.
func TestCopyToPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := copyEnds(t)
	populate(t, src)

	rep, err := src.CopyTo(ctx, dst, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Every table the source has, bar the search index and the migration
	// record, came along with all its rows; the populated ones were not
	// empty.
	copied := map[string]int64{}
	for _, tc := range rep.Tables {
		copied[tc.Name] = tc.Rows
	}
	rows, err := src.w.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'contact_digits%' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, name := range tables {
		n, ok := copied[name]
		if !ok {
			t.Errorf("table %s was not copied", name)
			continue
		}
		got, want := countRows(t, dst, name), countRows(t, src, name)
		if name == "ledger_checks" {
			got-- // the copy's own verification, recorded after the commit
		}
		if got != want || n != want {
			t.Errorf("%s: %d rows in PostgreSQL (reported %d), %d in SQLite", name, got, n, want)
		}
		if n == 0 {
			t.Errorf("%s is empty in the source: the test does not exercise it", name)
		}
	}

	// The check API's question, for every contact and category, and what
	// the contact pages show.
	contacts, err := src.w.QueryContext(ctx, `SELECT id, phone FROM contacts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type contact struct {
		id    int64
		phone string
	}
	var all []contact
	for contacts.Next() {
		var c contact
		contacts.Scan(&c.id, &c.phone)
		all = append(all, c)
	}
	contacts.Close()
	cats, err := src.Categories(ctx, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		for _, cat := range cats {
			ss, sst, serr := src.ConsentFor(ctx, c.phone, cat.Slug)
			ds, dst2, derr := dst.ConsentFor(ctx, c.phone, cat.Slug)
			if ss != ds || sst != dst2 || (serr == nil) != (derr == nil) {
				t.Fatalf("contact %d, %s: SQLite %v %v %v, PostgreSQL %v %v %v", c.id, cat.Slug, ss, sst, serr, ds, dst2, derr)
			}
		}
		se, err1 := src.Events(ctx, c.id)
		de, err2 := dst.Events(ctx, c.id)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(se, de) {
			t.Fatalf("contact %d: events differ (%v, %v)", c.id, err1, err2)
		}
	}
	if got := countRows(t, src, "events"); int64(rep.Events) != got || rep.HeadID != got {
		t.Errorf("report: %d events verified up to %d, want %d", rep.Events, rep.HeadID, got)
	}

	// Insertion order survives where only it tells rows apart.
	order := func(db *DB, q string) string {
		var got []string
		rows, err := db.SQL().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h string
			rows.Scan(&h)
			got = append(got, h[:2])
		}
		rows.Close()
		return strings.Join(got, " ")
	}
	if s, p := order(src, `SELECT hash FROM preference_tokens ORDER BY rowid`),
		order(dst, `SELECT hash FROM preference_tokens ORDER BY seq`); s != p || s != "f0 0f aa 11" {
		t.Errorf("preference tokens in insertion order: SQLite %s, PostgreSQL %s, want f0 0f aa 11", s, p)
	}

	// Every identity sequence gives an id past the copied ones next.
	seqs, err := dst.SQL().QueryContext(ctx, `SELECT table_name, column_name, pg_get_serial_sequence(table_name, column_name)
		FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	type seq struct{ table, column, name string }
	var identities []seq
	for seqs.Next() {
		var q seq
		seqs.Scan(&q.table, &q.column, &q.name)
		identities = append(identities, q)
	}
	seqs.Close()
	if len(identities) < 10 {
		t.Fatalf("%d identity columns in the target: the query finds none of them", len(identities))
	}
	for _, q := range identities {
		var last int64
		var called bool
		if err := dst.SQL().QueryRow(`SELECT last_value, is_called FROM `+q.name).Scan(&last, &called); err != nil {
			t.Fatal(err)
		}
		next := last
		if called {
			next++
		}
		if max := maxOf(t, dst, q.table, q.column); next <= max {
			t.Errorf("%s.%s: the next value is %d, not past the copied %d", q.table, q.column, next, max)
		}
	}

	// The target goes on: new ids follow the copied ones, and new events
	// extend the same chain.
	out, err := dst.FixtureOptIn(ctx, optIn("+4915112340001", consent.OptedIn, t0.Add(3*time.Hour), "offers"))
	if err != nil {
		t.Fatal(err)
	}
	if max := maxOf(t, src, "contacts", "id"); out.Contact.ID <= max {
		t.Errorf("new contact id %d, want above the copied %d", out.Contact.ID, max)
	}
	// The triggers are on again: the counters follow the new contact.
	var counted int64
	if err := dst.SQL().QueryRow(`SELECT sum(n) FROM stat_contacts`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if all := countRows(t, dst, "contacts"); counted != all {
		t.Errorf("stat_contacts counts %d contacts, the table holds %d: the triggers stayed off", counted, all)
	}
	ledger, err := dst.VerifyLedger(ctx, t0.Add(4*time.Hour))
	if err != nil || !ledger.OK() || ledger.Verified != rep.Events+1 {
		t.Errorf("after a new opt-in: %+v, %v; want %d events intact", ledger, err, rep.Events+1)
	}

	// A second copy finds the target in use and writes nothing.
	before := countRows(t, dst, "events")
	_, err = src.CopyTo(ctx, dst, nil)
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "contacts (") {
		t.Errorf("second copy: err = %v, want ErrTargetNotEmpty naming contacts", err)
	}
	if got := countRows(t, dst, "events"); got != before {
		t.Errorf("second copy: %d events, want %d", got, before)
	}
}

// TestCopyToRefusesBadText: text PostgreSQL cannot hold (a NUL byte) is
// named, and nothing is written.
func TestCopyToRefusesBadText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := copyEnds(t)
	if err := src.SaveSettings(ctx, []consent.SettingChange{{Key: "help_text.en", New: "a\x00b", At: t0, Actor: "x"}}); err != nil {
		t.Fatal(err)
	}
	_, err := src.CopyTo(ctx, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "NUL") || !strings.Contains(err.Error(), "settings") {
		t.Fatalf("err = %v, want the NUL byte named with its table", err)
	}
	if n := countRows(t, dst, "settings_history"); n != 0 {
		t.Errorf("settings_history holds %d rows after a failed copy, want 0", n)
	}
	if n := countRows(t, dst, "categories"); n != 3 {
		t.Errorf("categories holds %d rows after a failed copy, want the migrations' 3", n)
	}
}

func countRows(t *testing.T, db *DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(fmt.Errorf("count %s: %w", table, err))
	}
	return n
}

func maxOf(t *testing.T, db *DB, table, column string) int64 {
	t.Helper()
	var n int64
	if err := db.SQL().QueryRow(`SELECT COALESCE(max(` + column + `), 0) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
