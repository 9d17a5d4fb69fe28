package consent_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// script is a Sender that answers with the next error of its list, then
// accepts.
type script struct {
	mu    sync.Mutex
	errs  []error
	calls int
	sent  []consent.Message
	// waIDs maps a number sent to to the wa_id WhatsApp reports for it
	// (Argentina's 9, Brazil's old form…); unmapped numbers report
	// themselves.
	waIDs map[string]string
}

func (s *script) Send(_ context.Context, m consent.Message) (consent.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		if err != nil {
			return consent.SendResult{}, err
		}
	}
	s.sent = append(s.sent, m)
	waID := m.To
	if w, ok := s.waIDs[m.To]; ok {
		waID = w
	}
	return consent.SendResult{MessageID: fmt.Sprintf("wamid.%s.%d", m.To, s.calls), WaID: waID}, nil
}

func setup(t *testing.T, errs ...error) (*store.DB, *consent.Service, *consent.Dispatcher, *script, *clock) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "optin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := func(lang, key string, args ...any) string { return key }
	svc := consent.NewService(db, clk, tr, consent.Config{BusinessName: "Acme", DefaultRegion: "DE",
		WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en"})
	s := &script{errs: errs}
	d := &consent.Dispatcher{Store: db, Sender: s, Clock: clk, Rate: 1000, BaseDelay: time.Second}
	return db, svc, d, s, clk
}

func optIn(t *testing.T, svc *consent.Service, phone string) consent.OptInOutcome {
	t.Helper()
	out, err := svc.OptIn(context.Background(), consent.OptInRequest{Phone: phone, Categories: []string{"offers"},
		Lang: "en", Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// drain runs the dispatcher, moving the clock forward, until nothing is due
// for a day.
func drain(t *testing.T, d *consent.Dispatcher, clk *clock) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if _, err := d.SendDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
	}
}

func lastStatus(t *testing.T, db *store.DB, contactID int64) consent.DeliveryStatus {
	msgs, err := db.Messages(context.Background(), contactID)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("messages: %v, %v", msgs, err)
	}
	return msgs[len(msgs)-1].Status
}

func TestDispatcherRetriesThrottling(t *testing.T) {
	throttled := &consent.ProviderError{Class: consent.ErrThrottled, HTTPStatus: 429, Code: 130429, RetryAfter: 30 * time.Second}
	db, svc, d, s, clk := setup(t, throttled, throttled)
	out := optIn(t, svc, "+4915112345678")
	drain(t, d, clk)
	if s.calls != 3 || len(s.sent) != 1 {
		t.Errorf("calls = %d, sent = %d; want 3 calls and one message delivered", s.calls, len(s.sent))
	}
	if got := lastStatus(t, db, out.Contact.ID); got != consent.StatusSent {
		t.Errorf("status = %s, want sent", got)
	}
}

func TestDispatcherHonoursRetryAfter(t *testing.T) {
	throttled := &consent.ProviderError{Class: consent.ErrThrottled, HTTPStatus: 429, RetryAfter: time.Hour}
	_, svc, d, s, clk := setup(t, throttled)
	optIn(t, svc, "+4915112345678")
	d.SendDue(context.Background())
	clk.Add(59 * time.Minute)
	d.SendDue(context.Background())
	if s.calls != 1 {
		t.Errorf("calls = %d before Retry-After passed, want 1", s.calls)
	}
	clk.Add(7 * time.Minute) // Retry-After plus at most a tenth of jitter
	d.SendDue(context.Background())
	if len(s.sent) != 1 {
		t.Errorf("not sent after Retry-After")
	}
}

func TestDispatcherDeadLetter(t *testing.T) {
	down := &consent.ProviderError{Class: consent.ErrTransient, HTTPStatus: 503}
	errs := make([]error, 20)
	for i := range errs {
		errs[i] = down
	}
	db, svc, d, s, clk := setup(t, errs...)
	out := optIn(t, svc, "+4915112345678")
	for i := 0; i < 500; i++ {
		d.SendDue(context.Background())
		clk.Add(5 * time.Minute)
	}
	if s.calls != 8 {
		t.Errorf("calls = %d, want 8 attempts", s.calls)
	}
	if got := lastStatus(t, db, out.Contact.ID); got != consent.StatusDead {
		t.Errorf("status = %s, want dead", got)
	}
	alerts, _ := db.Alerts(context.Background())
	if len(alerts) != 1 || alerts[0].Kind != "dead_letter" {
		t.Errorf("alerts = %+v, want one dead_letter", alerts)
	}
}

func TestDispatcherErrorClasses(t *testing.T) {
	tests := []struct {
		name        string
		err         *consent.ProviderError
		wantStatus  consent.DeliveryStatus
		wantContact consent.ContactStatus
		wantAlert   string
		wantCalls   int
	}{
		{"undeliverable 1013", &consent.ProviderError{Class: consent.ErrUndeliverable, Code: 1013}, consent.StatusFailed, consent.Undeliverable, "", 1},
		{"undeliverable 131026", &consent.ProviderError{Class: consent.ErrUndeliverable, Code: 131026}, consent.StatusFailed, consent.Undeliverable, "", 1},
		{"template", &consent.ProviderError{Class: consent.ErrTemplate, Code: 132001}, consent.StatusFailed, consent.Active, "template", 1},
		{"rejected", &consent.ProviderError{Class: consent.ErrRejected, Code: 100}, consent.StatusFailed, consent.Active, "", 1},
		{"account pauses, then resumes", &consent.ProviderError{Class: consent.ErrAccount, Code: 190, HTTPStatus: 401}, consent.StatusSent, consent.Active, "account", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, svc, d, s, clk := setup(t, tc.err)
			out := optIn(t, svc, "+4915112345678")
			drain(t, d, clk)
			if s.calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", s.calls, tc.wantCalls)
			}
			if got := lastStatus(t, db, out.Contact.ID); got != tc.wantStatus {
				t.Errorf("message status = %s, want %s", got, tc.wantStatus)
			}
			c, _ := db.ContactByPhone(context.Background(), "+4915112345678")
			if c.Status != tc.wantContact {
				t.Errorf("contact status = %s, want %s", c.Status, tc.wantContact)
			}
			alerts, _ := db.Alerts(context.Background())
			if tc.wantAlert == "" && len(alerts) != 0 || tc.wantAlert != "" && (len(alerts) != 1 || alerts[0].Kind != tc.wantAlert) {
				t.Errorf("alerts = %+v, want %q", alerts, tc.wantAlert)
			}
		})
	}
}

func TestDispatcherWelcomeContent(t *testing.T) {
	_, svc, d, s, clk := setup(t)
	optIn(t, svc, "+49 151 1234 5678")
	drain(t, d, clk)
	if len(s.sent) != 1 {
		t.Fatalf("sent %d, want 1", len(s.sent))
	}
	m := s.sent[0]
	if m.Kind != consent.KindTemplate || m.To != "4915112345678" || m.Template.Name != "optin_welcome" ||
		len(m.Template.BodyParams) != 2 || m.Template.BodyParams[0] != "Acme" {
		t.Errorf("welcome = %+v %+v", m, m.Template)
	}
}

func TestDispatcherRunStopsCleanly(t *testing.T) {
	_, svc, d, s, _ := setup(t)
	d.Poll = 10 * time.Millisecond
	svc.OnEnqueue(d.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	optIn(t, svc, "+4915112345678")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := len(s.sent)
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if len(s.sent) != 1 {
		t.Errorf("sent %d, want 1", len(s.sent))
	}
}

func BenchmarkDispatcher(b *testing.B) {
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "optin.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	svc := consent.NewService(db, clk, func(l, k string, a ...any) string { return k }, consent.Config{
		BusinessName: "Acme", DefaultRegion: "DE", WelcomeTemplate: "w", WelcomeLanguage: "en"})
	s := &script{}
	d := &consent.Dispatcher{Store: db, Sender: s, Clock: clk, Rate: 1e9}
	for i := 0; i < b.N; i++ {
		phone := "+49151" + itoa8(i)
		svc.OptIn(context.Background(), consent.OptInRequest{Phone: phone, Categories: []string{"offers"},
			Lang: "en", Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}})
	}
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		n, err := d.SendDue(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("queue dry after %d of %d", sent, b.N)
		}
		sent += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func itoa8(i int) string {
	s := []byte("00000000")
	for p := 7; p >= 0 && i > 0; p-- {
		s[p] = byte('0' + i%10)
		i /= 10
	}
	return string(s)
}
