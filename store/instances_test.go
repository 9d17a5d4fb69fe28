package store

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// openInstances opens the same database file twice, as instances "a" and
// "b" of one installation (two processes on one database); opts apply to
// both.
func openInstances(t *testing.T, opts ...Option) (a, b *DB) {
	a, b, _ = openInstancesAt(t, opts...)
	return a, b
}

// openInstancesAt is openInstances, also returning the database's DSN.
func openInstancesAt(t *testing.T, opts ...Option) (a, b *DB, dsn string) {
	t.Helper()
	path := testDSN(t)
	open := func(id string) *DB {
		db, err := Open(context.Background(), path, append([]Option{InstanceID(id)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return open("a"), open("b"), path
}

// TestDefaultInstanceIDs: handles opened without an id are different
// instances, named after the host and process.
func TestDefaultInstanceIDs(t *testing.T) {
	t.Parallel()
	a, b := openTest(t), openTest(t)
	if a.Instance() == b.Instance() || !strings.Contains(a.Instance(), "-") {
		t.Errorf("instance ids %q and %q: want two different hostname-pid ids", a.Instance(), b.Instance())
	}
	if a.Lease() != DefaultLease {
		t.Errorf("lease = %s, want %s", a.Lease(), DefaultLease)
	}
}

// TestOutboxLeasesTwoInstances: a message is claimed by one instance; the
// other, starting up, leaves a live lease alone (ReleaseLeases ends only
// its own and expired ones) and takes over (as unknown: it may have been
// sent) only when the lease ended.
func TestOutboxLeasesTwoInstances(t *testing.T) {
	t.Parallel()
	a, b, dsn := openInstancesAt(t)
	ctx := context.Background()
	out1, _ := a.FixtureOptIn(ctx, optIn("+4915112345601", consent.OptedIn, t0, "offers"))
	out2, _ := a.FixtureOptIn(ctx, optIn("+4915112345602", consent.OptedIn, t0, "offers"))

	ca, err := a.ClaimDue(ctx, t0, time.Minute, 1)
	if err != nil || len(ca) != 1 {
		t.Fatalf("a claims %+v, %v; want one", ca, err)
	}
	cb, err := b.ClaimDue(ctx, t0, time.Minute, 10)
	if err != nil || len(cb) != 1 || cb[0].ID == ca[0].ID {
		t.Fatalf("b claims %+v, %v; want the other message", cb, err)
	}
	// b restarts: its own lease ends at once, a's (alive) stays.
	if n, err := b.ReleaseLeases(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("b's ReleaseLeases = %d, %v; want 1 (its own only)", n, err)
	}
	status := func(contactID int64) consent.DeliveryStatus {
		msgs, err := a.Messages(ctx, contactID)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages = %+v, %v", msgs, err)
		}
		return msgs[0].Status
	}
	byContact := map[int64]int64{ca[0].ContactID: ca[0].ID, cb[0].ContactID: cb[0].ID}
	if len(byContact) != 2 || byContact[out1.Contact.ID] == 0 || byContact[out2.Contact.ID] == 0 {
		t.Fatalf("claims %v do not cover both contacts", byContact)
	}
	if st := status(ca[0].ContactID); st != consent.StatusSending {
		t.Errorf("a's message after b's restart: %s, want still sending", st)
	}
	if st := status(cb[0].ContactID); st != consent.StatusUnknown {
		t.Errorf("b's own message after its restart: %s, want unknown", st)
	}
	// a sends while its lease lives.
	if err := a.MarkSent(ctx, ca[0].ID, consent.SendResult{MessageID: "wamid.a"}, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st := status(ca[0].ContactID); st != consent.StatusSent {
		t.Errorf("a's message: %s, want sent", st)
	}

	// A dead instance: c claims and never answers; after its lease b
	// takes it over as unknown (never sent twice by itself).
	out3, _ := a.FixtureOptIn(ctx, optIn("+4915112345603", consent.OptedIn, t0, "offers"))
	c, err := Open(ctx, dsn, InstanceID("c"))
	if err != nil {
		t.Fatal(err)
	}
	if cc, err := c.ClaimDue(ctx, t0.Add(time.Minute), time.Minute, 10); err != nil || len(cc) != 1 {
		t.Fatalf("c claims %+v, %v", cc, err)
	}
	c.Close() // killed
	if n, _ := b.ReleaseLeases(ctx, t0.Add(90*time.Second)); n != 0 {
		t.Errorf("b's ReleaseLeases during c's lease ended %d, want 0", n)
	}
	if st := status(out3.Contact.ID); st != consent.StatusSending {
		t.Errorf("c's message during its lease: %s, want sending", st)
	}
	if got, _ := b.ClaimDue(ctx, t0.Add(3*time.Minute), time.Minute, 10); len(got) != 0 {
		t.Errorf("b claimed %d after c's lease, want 0 (in doubt, not sent again)", len(got))
	}
	if st := status(out3.Contact.ID); st != consent.StatusUnknown {
		t.Errorf("c's message after its lease: %s, want unknown", st)
	}
}

// TestOutboxClaimsConcurrent: two instances claiming at once never get the
// same message.
func TestOutboxClaimsConcurrent(t *testing.T) {
	t.Parallel()
	a, b := openInstances(t)
	ctx := context.Background()
	const n = 40
	for i := range n {
		if _, err := a.FixtureOptIn(ctx, optIn(fmt.Sprintf("+49151123%05d", i), consent.OptedIn, t0, "offers")); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for _, db := range []*DB{a, b, a, b} {
		wg.Go(func() {
			for {
				got, err := db.ClaimDue(ctx, t0, time.Minute, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				if other, dup := seen[got[0].ID]; dup {
					t.Errorf("message %d claimed by %s and %s", got[0].ID, other, db.Instance())
				}
				seen[got[0].ID] = db.Instance()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d messages, want %d", len(seen), n)
	}
}

// TestForwardLeasesTwoInstances: a forward is claimed by one instance; the
// other takes it over when the lease ends, and the first one's late
// outcome no longer counts.
func TestForwardLeasesTwoInstances(t *testing.T) {
	t.Parallel()
	a, b := openInstances(t)
	ctx := context.Background()
	for i := range 3 {
		if err := a.EnqueueForward(ctx, 0, []byte(fmt.Sprintf(`{"n":%d}`, i)), t0); err != nil {
			t.Fatal(err)
		}
	}
	fa, err := a.ClaimForwards(ctx, t0, time.Minute, 2)
	if err != nil || len(fa) != 2 {
		t.Fatalf("a claims %d, %v; want 2", len(fa), err)
	}
	fb, err := b.ClaimForwards(ctx, t0, time.Minute, 10)
	if err != nil || len(fb) != 1 || slices.ContainsFunc(fa, func(f consent.Forward) bool { return f.ID == fb[0].ID }) {
		t.Fatalf("b claims %+v, %v; want the third only", fb, err)
	}
	if err := b.FinishForward(ctx, fb[0].ID, "sent", time.Time{}, "", t0); err != nil {
		t.Fatal(err)
	}
	// a dies; its lease ends; b takes both over.
	fb2, err := b.ClaimForwards(ctx, t0.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(fb2) != 2 {
		t.Fatalf("b after a's lease claims %d, %v; want a's 2", len(fb2), err)
	}
	// a's late outcome changes nothing; b's counts.
	if err := a.FinishForward(ctx, fa[0].ID, "queued", t0.Add(time.Hour), "late", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.FinishForward(ctx, fa[0].ID, "sent", time.Time{}, "", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	var status, lastErr string
	if err := a.r.QueryRow(`SELECT status, last_error FROM forwards WHERE id = ?`, fa[0].ID).Scan(&status, &lastErr); err != nil {
		t.Fatal(err)
	}
	if status != "sent" || lastErr != "" {
		t.Errorf("forward = %s %q, want sent by b (a's late retry ignored)", status, lastErr)
	}
}

// TestInboxClaimsTwoInstances: each webhook call is processed by the
// instance that claimed it; the holder claims its own again (a retry keeps
// its place), the other skips them until the lease ends.
func TestInboxClaimsTwoInstances(t *testing.T) {
	t.Parallel()
	path := testDSN(t)
	ctx := context.Background()
	a, err := Open(ctx, path, InstanceID("a"), InstanceLease(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path, InstanceID("b"), InstanceLease(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 3 {
		if _, err := a.SaveInbox(ctx, []byte(fmt.Sprintf(`{"n":%d}`, i)), t0); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(items []consent.InboxItem) []int64 {
		var out []int64
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	ia, err := a.PendingInbox(ctx, 2)
	if err != nil || len(ia) != 2 || ia[0].ID > ia[1].ID {
		t.Fatalf("a claims %v, %v; want the first two in order", ids(ia), err)
	}
	ib, err := b.PendingInbox(ctx, 10)
	if err != nil || len(ib) != 1 || ib[0].ID <= ia[1].ID {
		t.Fatalf("b claims %v, %v; want the third only", ids(ib), err)
	}
	if err := a.RetryInbox(ctx, ia[0].ID, "busy"); err != nil {
		t.Fatal(err)
	}
	if again, _ := a.PendingInbox(ctx, 10); !slices.Equal(ids(again), ids(ia)) {
		t.Errorf("a claims again %v, want its own %v", ids(again), ids(ia))
	}
	if err := b.FinishInboxBatch(ctx, ids(ib), t0); err != nil {
		t.Fatal(err)
	}
	if none, _ := b.PendingInbox(ctx, 10); len(none) != 0 {
		t.Errorf("b claims %v during a's lease, want none", ids(none))
	}
	// a dies. A lease ends: c, with a lease of a nanosecond, claims and
	// dies at once; b takes c's over.
	c, err := Open(ctx, path, InstanceID("c"), InstanceLease(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.FinishInboxBatch(ctx, ids(ia), t0); err != nil {
		t.Fatal(err)
	}
	id, err := a.SaveInbox(ctx, []byte(`{"n":4}`), t0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.PendingInbox(ctx, 10); !slices.Equal(ids(got), []int64{id}) {
		t.Fatalf("c claims %v, want [%d]", ids(got), id)
	}
	c.Close()
	if got, _ := b.PendingInbox(ctx, 10); !slices.Equal(ids(got), []int64{id}) {
		t.Errorf("b after c's lease claims %v, want [%d]", ids(got), id)
	}
}

// TestJobLeases: a named job runs on one instance at a time; its holder
// renews it, another takes it when the lease ended or was dropped.
func TestJobLeases(t *testing.T) {
	t.Parallel()
	a, b := openInstances(t)
	ctx := context.Background()
	take := func(db *DB, at time.Time) bool {
		t.Helper()
		ok, err := db.TakeJob(ctx, "retention", time.Hour, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !take(a, t0) {
		t.Fatal("a cannot take a free job")
	}
	if take(b, t0.Add(time.Minute)) {
		t.Error("b took a's live job")
	}
	if !take(a, t0.Add(50*time.Minute)) {
		t.Error("a cannot renew its job")
	}
	if take(b, t0.Add(70*time.Minute)) {
		t.Error("b took a's renewed job")
	}
	if !take(b, t0.Add(111*time.Minute)) {
		t.Error("b cannot take the job after a's lease ended")
	}
	if take(a, t0.Add(112*time.Minute)) {
		t.Error("a took b's live job")
	}
	if err := a.DropJob(ctx, "retention"); err != nil {
		t.Fatal(err)
	}
	if take(a, t0.Add(113*time.Minute)) {
		t.Error("a's DropJob ended b's lease")
	}
	if err := b.DropJob(ctx, "retention"); err != nil {
		t.Fatal(err)
	}
	if !take(a, t0.Add(114*time.Minute)) {
		t.Error("a cannot take a dropped job")
	}
}

// TestSharedSendSlots: the send rate holds for every instance together:
// slots drawn from two instances follow each other one interval apart.
func TestSharedSendSlots(t *testing.T) {
	t.Parallel()
	a, b := openInstances(t)
	ctx := context.Background()
	const interval = 50 * time.Millisecond
	var starts []time.Time
	for i := range 6 {
		db := []*DB{a, b}[i%2]
		s, err := db.ReserveSendSlot(ctx, t0, interval)
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, s)
	}
	for i, s := range starts {
		if want := t0.Add(time.Duration(i) * interval); !s.Equal(want) {
			t.Errorf("slot %d starts %s, want %s", i, s, want)
		}
	}
	// After a quiet time the next slot is now.
	later := t0.Add(time.Hour)
	if s, _ := a.ReserveSendSlot(ctx, later, interval); !s.Equal(later) {
		t.Errorf("slot after a pause starts %s, want %s", s, later)
	}
}

// TestSharedPause: an account error's pause on one instance holds on all;
// a shorter pause never cuts it.
func TestSharedPause(t *testing.T) {
	t.Parallel()
	a, b := openInstances(t)
	ctx := context.Background()
	if until, err := b.SendingPausedUntil(ctx); err != nil || !until.IsZero() {
		t.Fatalf("pause before any = %s, %v; want none", until, err)
	}
	if err := a.PauseSending(ctx, t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.PauseSending(ctx, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if until, _ := b.SendingPausedUntil(ctx); !until.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("b sees the pause until %s, want %s", until, t0.Add(10*time.Minute))
	}
}

// TestSharedDailyCap: instances reserving templates at once never pass the
// cap together; the day starts from the templates already sent; a
// returned place is free again.
func TestSharedDailyCap(t *testing.T) {
	t.Parallel()
	a, b := openInstances(t)
	ctx := context.Background()
	day := t0.Truncate(24 * time.Hour)
	// One template sent today before the count started.
	a.FixtureOptIn(ctx, optIn("+4915112345600", consent.OptedIn, t0, "offers"))
	due, _ := a.ClaimDue(ctx, t0, time.Minute, 1)
	if err := a.MarkSent(ctx, due[0].ID, consent.SendResult{MessageID: "wamid.0"}, t0); err != nil {
		t.Fatal(err)
	}
	const limit = 5
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for _, db := range []*DB{a, b, a, b} {
		wg.Go(func() {
			for range 5 {
				ok, err := db.ReserveTemplate(ctx, day, limit)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if granted != limit-1 {
		t.Errorf("granted %d of 20 tries, want %d (cap %d, one sent before)", granted, limit-1, limit)
	}
	if err := b.ReturnTemplate(ctx, day); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.ReserveTemplate(ctx, day, limit); !ok {
		t.Error("a returned place was not free again")
	}
	if ok, _ := a.ReserveTemplate(ctx, day, limit); ok {
		t.Error("over the cap after the returned place was taken")
	}
	if ok, _ := b.ReserveTemplate(ctx, day.AddDate(0, 0, 1), limit); !ok {
		t.Error("the next day starts from zero")
	}
	// Without a cap, instances starting a day at once are all granted
	// (the one that did not start the day's count uses the other's).
	refused := 0
	for _, db := range []*DB{a, b, a, b, a, b} {
		wg.Go(func() {
			ok, err := db.ReserveTemplate(ctx, day.AddDate(0, 0, 2), 1<<31-1)
			mu.Lock()
			if err != nil || !ok {
				refused++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if refused != 0 {
		t.Errorf("%d of 6 first reservations of a day without a cap refused", refused)
	}
}

// TestSharedUseCounts: the form limits' counts are one for all instances;
// a window restarts after it ended, a reservation beyond the limit counts
// nothing, ended windows are pruned.
func TestSharedUseCounts(t *testing.T) {
	t.Parallel()
	a, b := openInstances(t)
	ctx := context.Background()
	count := func(db *DB, reserve bool, at time.Time) int {
		t.Helper()
		n, _, err := db.CountUse(ctx, "form:k", 2, time.Hour, reserve, at)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(a, false, t0); n != 1 {
		t.Errorf("first use = %d", n)
	}
	if n := count(b, false, t0.Add(time.Minute)); n != 2 {
		t.Errorf("second use on b = %d, want 2", n)
	}
	if n := count(a, true, t0.Add(2*time.Minute)); n != 3 {
		t.Errorf("reserve over the limit = %d, want 3 (refused)", n)
	}
	if n := count(b, true, t0.Add(3*time.Minute)); n != 3 {
		t.Errorf("second refused reserve = %d, want 3 (refusals count nothing)", n)
	}
	if n, _ := b.Uses(ctx, "form:k", t0.Add(4*time.Minute)); n != 3 {
		t.Errorf("uses = %d, want 3", n)
	}
	if err := a.ReturnUse(ctx, "form:k", t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Uses(ctx, "form:k", t0.Add(5*time.Minute)); n != 2 {
		t.Errorf("uses after a return = %d, want 2", n)
	}
	// The window (from the first use) ended: a new one starts.
	if n := count(b, true, t0.Add(time.Hour)); n != 1 {
		t.Errorf("use in a new window = %d, want 1", n)
	}
	if _, _, err := a.CountUse(ctx, "form:other", 2, time.Minute, false, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := b.PruneUses(ctx, t0.Add(time.Hour+2*time.Minute)); err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want the ended window only", n, err)
	}
}

// TestChangeVersion: a change of settings, categories, form wordings or
// API keys made through one instance moves the version the other reads,
// and drops the other's cache of API keys; the last-used time of a key
// does not move it.
func TestChangeVersion(t *testing.T) {
	t.Parallel()
	a, b := openInstances(t)
	ctx := context.Background()
	v0, err := b.ChangeVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k, err := a.CreateAPIKey(ctx, consent.APIKey{Name: "crm", Prefix: "optin_abc", Scope: "read"}, "hash1", t0)
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := b.ChangeVersion(ctx)
	if v1 == v0 {
		t.Error("a new API key did not move the version")
	}
	if _, err := b.APIKeyByHash(ctx, "hash1", t0); err != nil { // cached by b now
		t.Fatal(err)
	}
	if _, err := b.APIKeyByHash(ctx, "hash1", t0.Add(2*time.Minute)); err != nil { // writes last_used_at
		t.Fatal(err)
	}
	if v, _ := a.ChangeVersion(ctx); v != v1 {
		t.Errorf("a key's use moved the version %d → %d", v1, v)
	}
	if _, err := a.RevokeAPIKey(ctx, k.ID, t0); err != nil {
		t.Fatal(err)
	}
	v2, _ := b.ChangeVersion(ctx)
	if v2 == v1 {
		t.Fatal("a revocation did not move the version")
	}
	if _, err := b.APIKeyByHash(ctx, "hash1", t0.Add(2*time.Minute)); err == nil {
		t.Error("b still accepts the key a revoked")
	}
	if err := a.SaveSettings(ctx, []consent.SettingChange{{Key: "help_text", Old: "", New: "Call us", At: t0, Actor: "x"}}); err != nil {
		t.Fatal(err)
	}
	if v3, _ := b.ChangeVersion(ctx); v3 == v2 {
		t.Error("a saved setting did not move the version")
	}
}

// TestReleaseLeasesOfDeadProcess: an optin killed and started again
// without OPTIN_INSTANCE has a new default id (hostname-pid); at start it
// ends the leases of default ids of this host whose process is gone, and
// leaves those of a process that runs.
func TestReleaseLeasesOfDeadProcess(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	ctx := context.Background()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip("no process to start:", err)
	}
	deadID := fmt.Sprintf("%s-%d", hostname(), gone.Process.Pid)
	liveID := fmt.Sprintf("%s-%d", hostname(), os.Getppid()) // the go command, running
	claim := func(id, phone string) int64 {
		t.Helper()
		db, err := Open(ctx, dsn, InstanceID(id))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		out, err := db.FixtureOptIn(ctx, optIn(phone, consent.OptedIn, t0, "offers"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.ClaimDue(ctx, t0, time.Hour, 10); err != nil || len(got) != 1 {
			t.Fatalf("claim: %+v, %v", got, err)
		}
		return out.Contact.ID
	}
	dead := claim(deadID, "+4915112345601")
	live := claim(liveID, "+4915112345602")
	restarted, err := Open(ctx, dsn) // a default id of its own
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	if n, err := restarted.ReleaseLeases(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("ReleaseLeases = %d, %v; want 1 (the dead process's)", n, err)
	}
	for contact, want := range map[int64]consent.DeliveryStatus{dead: consent.StatusUnknown, live: consent.StatusSending} {
		msgs, _ := restarted.Messages(ctx, contact)
		if len(msgs) != 1 || msgs[0].Status != want {
			t.Errorf("contact %d: %+v, want %s", contact, msgs, want)
		}
	}
}
