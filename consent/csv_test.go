package consent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSafeCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"offers", "offers"},
		{"=1+1", "'=1+1"},
		{"+4915112345678", "'+4915112345678"},
		{"-2", "'-2"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"\x00x", "'\x00x"},
		{"a=b", "a=b"},
		{"'quoted", "'quoted"},
		{" =1+1", "' =1+1"},
		{"  +1", "'  +1"},
		{"\u3000=1", "'\u3000=1"}, // ideographic space
		{"＝1+1", "'＝1+1"},
		{"＋4915112345678", "'＋4915112345678"},
		{"－2", "'－2"},
		{"＠SUM(A1)", "'＠SUM(A1)"},
		{" ＝x", "' ＝x"},
		{"a =b", "a =b"},
		{"   ", "   "},
	}
	for _, tt := range tests {
		if got := SafeCell(tt.in); got != tt.want {
			t.Errorf("SafeCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := unsafeCell(SafeCell(tt.in)); got != tt.in {
			t.Errorf("unsafeCell(SafeCell(%q)) = %q, want it back", tt.in, got)
		}
	}
}

func TestReadImport(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // rows as line:number/category/state/date/source/evidence
		err  string
	}{
		{"plain", "number,category,state,date\n+491,offers,opted_in,2026-01-01\n", "2:+491/offers/opted_in/2026-01-01//", ""},
		{"any order, phone alias, extra columns, BOM", "\uFEFFState,extra,Phone,date,category,evidence,source\r\nopted_out,x,'+491,2026-01-01,offers,said so,shop\r\n",
			"2:+491/offers/opted_out/2026-01-01/shop/said so", ""},
		{"semicolons", "number;category;state;date\n+491;offers;opted_in;2026-01-01\n", "2:+491/offers/opted_in/2026-01-01//", ""},
		{"blank lines and a quoted newline", "number,category,state,date,evidence\n\n+491,offers,opted_in,2026-01-01,\"two\nlines\"\n+492,offers,opted_in,2026-01-01,\n",
			"3:+491/offers/opted_in/2026-01-01//two\nlines 5:+492/offers/opted_in/2026-01-01//", ""},
		{"short row", "number,category,state,date\n+491,offers\n", "2:+491/offers////", ""},
		{"missing columns", "number,category\n", "", "the header lacks state, date"},
		{"empty", "", "", "no header row"},
		{"not UTF-8", "number\xff", "", "not UTF-8"},
		{"bad quoting", "number,category,state,date\n\"+491,offers\n", "", "line 2 is not valid CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := readImport([]byte(tt.in), func(r importRow) error {
				got = append(got, fmt.Sprintf("%d:%s/%s/%s/%s/%s/%s", r.line, r.number, r.category, r.state, r.date, r.source, r.notes))
				return nil
			})
			var ferr *ImportFormatError
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.err != "" && (!errors.As(err, &ferr) || !strings.Contains(ferr.Reason, tt.err)):
				t.Fatalf("err = %v, want an ImportFormatError with %q", err, tt.err)
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("rows = %q, want %q", s, tt.want)
			}
		})
	}
}

func TestImportDate(t *testing.T) {
	for in, want := range map[string]string{
		"2026-05-01":                "2026-05-01T00:00:00Z",
		"2026-05-01 10:30:00":       "2026-05-01T10:30:00Z",
		"2026-05-01T10:30:00":       "2026-05-01T10:30:00Z",
		"2026-05-01T10:30:00+02:00": "2026-05-01T08:30:00Z",
		"01/05/2026":                "",
		"yesterday":                 "",
	} {
		got, ok := importDate(in)
		if s := got.Format(time.RFC3339); (ok && s != want) || (!ok && want != "") {
			t.Errorf("importDate(%q) = %s %v, want %q", in, s, ok, want)
		}
	}
}

func TestNewEvidence(t *testing.T) {
	erased := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name                string
		collected, occurred time.Time
		want                bool
	}{
		{"none", time.Time{}, erased.Add(time.Hour), false},
		{"collected before", erased.Add(-time.Hour), erased.Add(time.Hour), false},
		{"occurred before", erased.Add(time.Hour), erased.Add(-time.Hour), false},
		{"at the erasure", erased, erased, false},
		{"both after", erased.Add(time.Hour), erased.Add(time.Hour), true},
	}
	for _, tt := range tests {
		if got := NewEvidence(ConsentWrite{CollectedAt: tt.collected, OccurredAt: tt.occurred}, erased); got != tt.want {
			t.Errorf("%s: NewEvidence = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRequestHash(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	a := ConsentRecord{Phone: "+491", Category: "offers", State: OptedIn, OccurredAt: at, Evidence: map[string]string{"a": "1", "b": "2"}}
	b := a
	b.Evidence = map[string]string{"b": "2", "a": "1"}
	b.OccurredAt = at.In(time.FixedZone("x", 3600))
	if RequestHash(a) != RequestHash(b) {
		t.Errorf("the same request hashes differently")
	}
	for name, change := range map[string]func(*ConsentRecord){
		"phone":    func(r *ConsentRecord) { r.Phone = "+492" },
		"state":    func(r *ConsentRecord) { r.State = OptedOut },
		"source":   func(r *ConsentRecord) { r.Source = SourceImport },
		"time":     func(r *ConsentRecord) { r.OccurredAt = at.Add(time.Second) },
		"evidence": func(r *ConsentRecord) { r.Evidence = map[string]string{"a": "12"} },
		"shifted":  func(r *ConsentRecord) { r.Evidence = map[string]string{"a1": "", "b": "2"} },
	} {
		c := a
		change(&c)
		if RequestHash(c) == RequestHash(a) {
			t.Errorf("a different %s hashes the same", name)
		}
	}
}
