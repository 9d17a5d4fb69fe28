package consent_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/store/storetest"
)

// instance is one optin process of an installation: its own store handle
// on the shared database file, service and dispatcher.
type instance struct {
	db  *store.DB
	svc *consent.Service
	d   *consent.Dispatcher
}

// twoInstances opens two instances on one database file, with one clock
// and one sender (the provider) between them.
func twoInstances(t *testing.T, s *script, cfg consent.Config) (a, b instance, clk *clock) {
	t.Helper()
	path := storetest.DSN(t) // PostgreSQL under OPTIN_TEST_ENGINE=postgres (.ci/run)
	clk = &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := func(lang, key string, args ...any) string { return key }
	open := func(id string) instance {
		db, err := store.Open(context.Background(), path, store.InstanceID(id))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		svc := consent.NewService(db, clk, tr, cfg)
		d := &consent.Dispatcher{Store: db, Sender: s, Clock: clk, Rate: 1000, BaseDelay: time.Second, Limits: svc.SendLimits}
		return instance{db: db, svc: svc, d: d}
	}
	return open("a"), open("b"), clk
}

var twoCfg = consent.Config{BusinessName: "Acme", DefaultRegion: "DE",
	WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en"}

// TestDailyCapAcrossInstances: two instances sending at once share the
// daily cap of business-initiated messages: together they send exactly
// the cap, the rest waits for the next day.
func TestDailyCapAcrossInstances(t *testing.T) {
	t.Parallel()
	s := &script{}
	a, b, _ := twoInstances(t, s, twoCfg)
	ctx := context.Background()
	if _, err := a.svc.SaveSettings(ctx, map[string]string{consent.SettingDailyCap: "3"}, "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CheckChanges(ctx); err != nil { // b sees a's cap (TestChangesAcrossInstances)
		t.Fatal(err)
	}
	for i := range 8 {
		optIn(t, a.svc, fmt.Sprintf("+49151123456%02d", i))
	}
	var wg sync.WaitGroup
	for _, in := range []instance{a, b} {
		wg.Go(func() {
			for range 10 {
				if _, err := in.d.SendDue(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s.calls != 3 || len(s.sent) != 3 {
		t.Errorf("provider got %d calls, %d sent; want exactly the cap of 3 between both instances", s.calls, len(s.sent))
	}
}

// TestAccountPauseAcrossInstances: an account error on one instance stops
// the sending of every instance until the pause ends.
func TestAccountPauseAcrossInstances(t *testing.T) {
	t.Parallel()
	s := &script{errs: []error{&consent.ProviderError{Class: consent.ErrAccount, Code: 190, HTTPStatus: 401}}}
	a, b, clk := twoInstances(t, s, twoCfg)
	ctx := context.Background()
	optIn(t, a.svc, "+4915112345601")
	optIn(t, a.svc, "+4915112345602")
	if _, err := a.d.SendDue(ctx); err != nil { // the first send meets the account error
		t.Fatal(err)
	}
	if s.calls != 1 {
		t.Fatalf("calls = %d, want 1 (then paused)", s.calls)
	}
	if _, err := b.d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if s.calls != 1 {
		t.Errorf("b sent during a's account pause: %d calls", s.calls)
	}
	clk.Add(11 * time.Minute) // the default pause is 10 minutes
	if _, err := b.d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.sent) != 2 {
		t.Errorf("after the pause b sent %d, want both messages", len(s.sent))
	}
}

// TestChangesAcrossInstances: a setting, a category and a form wording
// changed on instance a are in force on b after one check of the change
// version (serve checks every 500 ms), and only then.
func TestChangesAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b, _ := twoInstances(t, &script{}, twoCfg)
	ctx := context.Background()
	// b reads (and caches) before a changes anything.
	if _, err := b.svc.CheckChanges(ctx); err != nil {
		t.Fatal(err)
	}
	catsBefore, err := b.svc.Categories(ctx, "en")
	if err != nil {
		t.Fatal(err)
	}
	wBefore, err := b.svc.FormWording(ctx, "en")
	if err != nil {
		t.Fatal(err)
	}
	if changed, _ := b.svc.CheckChanges(ctx); changed {
		t.Error("a check without a change reloaded")
	}

	if _, err := a.svc.SaveSettings(ctx, map[string]string{consent.SettingDailyCap: "7"}, "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.UpdateCategory(ctx, catsBefore[0].ID, consent.CategoryInput{Slug: catsBefore[0].Slug,
		Marketing: catsBefore[0].Marketing, Texts: map[string]consent.CategoryText{"en": {Name: "Order news", Description: "Shipping."}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.SetFormWording(ctx, "en", "Yes, send me news on WhatsApp.", "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := b.svc.SendLimits().DailyCap; got != 0 {
		t.Fatalf("b's cap before its check = %d (the test expects b to cache)", got)
	}

	if changed, err := b.svc.CheckChanges(ctx); err != nil || !changed {
		t.Fatalf("CheckChanges = %v, %v; want a reload", changed, err)
	}
	if got := b.svc.SendLimits().DailyCap; got != 7 {
		t.Errorf("b's daily cap = %d, want a's 7", got)
	}
	cats, _ := b.svc.Categories(ctx, "en")
	if cats[0].Name != "Order news" {
		t.Errorf("b's category = %q, want a's new name", cats[0].Name)
	}
	if w, _ := b.svc.FormWording(ctx, "en"); w.Hash == wBefore.Hash || !strings.Contains(w.Text, "news on WhatsApp") {
		t.Errorf("b's form wording = %q, want a's new one", w.Text)
	}
}

// TestImportTakenOver: a CSV import whose instance died (its lease ended)
// is resumed by another instance, once; an import a live instance holds is
// left alone.
func TestImportTakenOver(t *testing.T) {
	t.Parallel()
	path := storetest.DSN(t) // PostgreSQL under OPTIN_TEST_ENGINE=postgres (.ci/run)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := func(lang, key string, args ...any) string { return key }
	open := func(id string) (*store.DB, *consent.Service) {
		db, err := store.Open(ctx, path, store.InstanceID(id), store.InstanceLease(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, consent.NewService(db, clk, tr, twoCfg)
	}
	dbA, a := open("a")
	_, b := open("b")
	csv := "number,category,state,date,source,evidence\n+4915112345601,offers,opted_in,2026-10-01,paper,form 1\n"
	j, err := a.PrepareImport(ctx, "list.csv", []byte(csv), "admin:a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// a marks it running and holds its lease, then dies before the run.
	if err := dbA.StartImportJob(ctx, j.ID, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if ok, err := dbA.TakeJob(ctx, fmt.Sprintf("import:%d", j.ID), time.Hour, time.Now()); err != nil || !ok {
		t.Fatalf("a takes the import: %v, %v", ok, err)
	}
	if err := b.ResumeImports(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.ImportJob(ctx, j.ID); got.Status != consent.ImportRunning || got.Processed != 0 {
		t.Fatalf("b ran a's live import: %+v", got)
	}
	// a's lease ends (a is gone): b takes the import over and finishes it.
	if _, err := dbA.SQL().Exec(`UPDATE job_leases SET lease_until = '2000-01-01' WHERE owner = 'a'`); err != nil {
		t.Fatal(err)
	}
	if err := b.ResumeImports(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := b.ImportJob(ctx, j.ID)
	if got.Status != consent.ImportDone || got.Processed != 1 || got.Applied != 1 {
		t.Errorf("after b took over: %+v, want done with the row applied", got)
	}
}

// TestFollowChanges: FollowChanges (serve runs it every 500 ms) puts a
// setting saved on a in force on b without anything else calling b.
func TestFollowChanges(t *testing.T) {
	t.Parallel()
	a, b, _ := twoInstances(t, &script{}, twoCfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { b.svc.FollowChanges(ctx, 10*time.Millisecond, slog.New(slog.DiscardHandler)); close(done) }()
	if _, err := a.svc.SaveSettings(ctx, map[string]string{consent.SettingDailyCap: "9"}, "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // a bound for a broken build, not a measure
	for b.svc.SendLimits().DailyCap != 9 {
		if time.Now().After(deadline) {
			t.Fatalf("b's cap is still %d", b.svc.SendLimits().DailyCap)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
