package consent

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode"
)

// phoneCase is one input to ParsePhone and what must come out: want for a
// number, key for a ValidationError.
type phoneCase struct {
	name   string
	raw    string
	region string
	want   string
	key    string
}

var phoneCases = []phoneCase{
	// Germany, the formats people type.
	{name: "international with spaces", raw: "+49 151 1234 5678", want: "+4915112345678"},
	{name: "00 prefix", raw: "0049 151 12345678", want: "+4915112345678"},
	// The library alone reads this as a US number (+1004915112345678,
	// invalid); 00 is read as + before it sees it.
	{name: "00 prefix with region US", raw: "0049 151 12345678", region: "US", want: "+4915112345678"},
	{name: "national trunk 0", raw: "0151 12345678", region: "DE", want: "+4915112345678"},
	{name: "national without trunk 0", raw: "151 12345678", region: "DE", want: "+4915112345678"},
	{name: "(0) after country code", raw: "+49 (0)151 12345678", want: "+4915112345678"},
	{name: "slash and dots", raw: "0151/1234.5678", region: "DE", want: "+4915112345678"},

	// United States. 555 numbers other than 555-01xx are not reserved any
	// more and the library's metadata accepts (650) 555-1234 as a valid
	// fixed-line-or-mobile number, so it is used as the brief suggested;
	// (650) 253-0000 is a real, assigned number for contrast.
	{name: "US national", raw: "(650) 555-1234", region: "US", want: "+16505551234"},
	{name: "US dots, lower-case region", raw: "650.253.0000", region: "us", want: "+16502530000"},
	{name: "US with 1", raw: "1 650 253 0000", region: "US", want: "+16502530000"},
	{name: "tel URI", raw: "tel:+1-650-253-0000", want: "+16502530000"},
	{name: "TEL URI upper case", raw: "TEL:+16502530000", want: "+16502530000"},
	{name: "US IDD 011", raw: "011 49 151 12345678", region: "US", want: "+4915112345678"},

	// Mexico: the library rejects the pre-2019 mobile 1, which WhatsApp's
	// wa_id still carries; both forms give the current number.
	{name: "Mexico current", raw: "+52 55 1234 5678", want: "+525512345678"},
	{name: "Mexico mobile 1", raw: "+52 1 55 1234 5678", want: "+525512345678"},
	{name: "Mexico wa_id with plus", raw: "+5215512345678", want: "+525512345678"},
	{name: "Mexico national mobile 1", raw: "1 55 1234 5678", region: "MX", want: "+525512345678"},
	// A 1 followed by only 9 digits is not the old form: left alone, invalid.
	{name: "Mexico 1 with short rest", raw: "+52 1 55 1234 567", key: "phone.invalid_region"},

	// Argentina: the 9 (mobile) and plain (landline) forms are both valid
	// and are different numbers.
	{name: "Argentina mobile", raw: "+54 9 11 1234 5678", want: "+5491112345678"},
	{name: "Argentina landline", raw: "+54 11 1234 5678", want: "+541112345678"},
	// The national mobile form (0 area 15 number) becomes the 9 form.
	{name: "Argentina national mobile 15", raw: "011 15 4123-4567", region: "AR", want: "+5491141234567"},

	// Brazil: with the ninth digit, a mobile. Without it the library does
	// NOT accept "+55 11 1234 5678": the NSN has a possible length but no
	// Brazilian landline starts with 1 (they start with 2 to 5), so
	// IsValidNumber is false. A landline shaped like a real one is valid.
	{name: "Brazil mobile ninth digit", raw: "+55 11 91234 5678", want: "+5511912345678"},
	{name: "Brazil eight digits starting 1", raw: "+55 11 1234 5678", key: "phone.invalid_region"},
	{name: "Brazil landline", raw: "+55 11 3123 4567", want: "+551131234567"},
	{name: "Brazil national", raw: "(11) 91234-5678", region: "BR", want: "+5511912345678"},

	// Digits of other scripts, as phones with those keyboards send them.
	{name: "full-width", raw: "＋４９　１５１　１２３４　５６７８", want: "+4915112345678"},
	{name: "full-width separators", raw: "（０１５１）１２３４－５６７８", region: "DE", want: "+4915112345678"},
	{name: "Arabic-Indic", raw: "+٤٩ ١٥١ ١٢٣٤ ٥٦٧٨", want: "+4915112345678"},
	{name: "Extended Arabic-Indic", raw: "۰۹۱۲ ۳۴۵ ۶۷۸۹", region: "IR", want: "+989123456789"},
	// The library maps only Arabic-Indic and full-width digits itself.
	{name: "Devanagari", raw: "+९१ ९८७६५ ४३२१०", want: "+919876543210"},

	// Invisible characters that come along with copy and paste.
	{name: "zero-width characters", raw: "+49\u200b151\u200c1234\u200d5678\u2060\ufeff", want: "+4915112345678"},
	{name: "BOM first", raw: "\ufeff+4915112345678", want: "+4915112345678"},
	{name: "bidi embedding", raw: "\u202a+49 151 12345678\u202c", want: "+4915112345678"},
	{name: "bidi marks", raw: "\u200e+49 151 12345678\u200f", want: "+4915112345678"},
	{name: "bidi isolate", raw: "\u2066+49 151 12345678\u2069", want: "+4915112345678"},
	{name: "no-break spaces", raw: "+49\u00a0151\u202f1234\u00a05678", want: "+4915112345678"},
	{name: "en dash and minus sign", raw: "+49–151−12345678", want: "+4915112345678"},
	{name: "surrounding whitespace", raw: "\t +49 151 12345678 \n", want: "+4915112345678"},
	{name: "64 characters", raw: "+4915112345678" + strings.Repeat(" ", 50), want: "+4915112345678"},

	// phone.empty
	{name: "empty", raw: "", key: "phone.empty"},
	{name: "whitespace", raw: " \t\n", key: "phone.empty"},
	{name: "separators only", raw: " (-) / . ", key: "phone.empty"},
	{name: "zero-width only", raw: "\u200b\ufeff", key: "phone.empty"},
	{name: "plus only", raw: "+", key: "phone.empty"},
	{name: "tel only", raw: "tel:", key: "phone.empty"},

	// phone.letters: vanity numbers are valid to the library; not to us.
	{name: "vanity number", raw: "1-800-FLOWERS", region: "US", key: "phone.letters"},
	{name: "extension", raw: "+1 650 253 0000 ext. 5", key: "phone.letters"},
	{name: "letter o for zero", raw: "+49 151 1234 567O", key: "phone.letters"},
	{name: "tel not at start", raw: "+49 tel:15112345678", key: "phone.letters"},

	// phone.too_short
	{name: "too short", raw: "+49 12", key: "phone.too_short"},
	{name: "one digit", raw: "5", region: "US", key: "phone.too_short"},
	{name: "00 only", raw: "00", key: "phone.too_short"},
	// Possible only as a local number: the area code is missing.
	{name: "US without area code", raw: "253-0000", region: "US", key: "phone.too_short"},

	// phone.too_long
	{name: "too long", raw: "+49 1511 2345 6789 1234", key: "phone.too_long"},
	{name: "65 characters", raw: "+4915112345678" + strings.Repeat(" ", 51), key: "phone.too_long"},
	{name: "200 characters", raw: strings.Repeat("1", 200), region: "US", key: "phone.too_long"},
	{name: "64 characters of 4 bytes plus one", raw: strings.Repeat("\U0001D7D9", 65), key: "phone.too_long"},

	// phone.invalid_region
	{name: "wrong length for Germany", raw: "+49 151 1234567", key: "phone.invalid_region"},
	{name: "no such US area code", raw: "+1 650 053 0000", key: "phone.invalid_region"},
	{name: "no such country code", raw: "+999 1234567", key: "phone.invalid_region"},
	// Without + or 00 and without a region the country is unknown: the
	// person must add the country code, the same fix as for a wrong one.
	{name: "national without region", raw: "0151 12345678", key: "phone.invalid_region"},
	{name: "unknown region", raw: "0151 12345678", region: "XX", key: "phone.invalid_region"},

	// phone.invalid
	{name: "hash", raw: "+49 151 1234#5678", key: "phone.invalid"},
	{name: "USSD code", raw: "*100#", key: "phone.invalid"},
	{name: "plus inside", raw: "49+15112345678", key: "phone.invalid"},
	{name: "two pluses", raw: "++4915112345678", key: "phone.invalid"},
	{name: "invalid UTF-8", raw: "+49151\xff12345678", key: "phone.invalid"},
}

func TestParsePhone(t *testing.T) {
	for _, tc := range phoneCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePhone(tc.raw, tc.region)
			if tc.key == "" {
				if err != nil {
					t.Fatalf("ParsePhone(%q, %q) error = %v, want %q", tc.raw, tc.region, err, tc.want)
				}
				if got != tc.want {
					t.Errorf("ParsePhone(%q, %q) = %q, want %q", tc.raw, tc.region, got, tc.want)
				}
				return
			}
			if got != "" {
				t.Errorf("ParsePhone(%q, %q) = %q, want \"\" with %s", tc.raw, tc.region, got, tc.key)
			}
			if key := phoneErrorKey(t, err); key != tc.key {
				t.Errorf("ParsePhone(%q, %q) key = %q, want %q", tc.raw, tc.region, key, tc.key)
			}
		})
	}
}

// phoneErrorKey returns the message key of err, failing the test unless err
// is a *ValidationError with exactly the field "phone".
func phoneErrorKey(t *testing.T, err error) string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	if len(ve.Fields) != 1 {
		t.Fatalf("Fields = %v, want only \"phone\"", ve.Fields)
	}
	key, ok := ve.Fields["phone"]
	if !ok {
		t.Fatalf("Fields = %v, want only \"phone\"", ve.Fields)
	}
	return key
}

func TestPhoneWaID(t *testing.T) {
	tests := []struct{ e164, want string }{
		{"+4915112345678", "4915112345678"},
		{"+525512345678", "525512345678"},
		{"+5491112345678", "5491112345678"},
	}
	for _, tc := range tests {
		if got := WaID(tc.e164); got != tc.want {
			t.Errorf("WaID(%q) = %q, want %q", tc.e164, got, tc.want)
		}
	}
}

// TestPhoneDigitTable checks what digitValue relies on: every range of
// unicode.Digit is whole runs of ten digits. A Unicode update that broke it
// would otherwise fold digits to the wrong values silently.
func TestPhoneDigitTable(t *testing.T) {
	for _, rg := range unicode.Digit.R16 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Errorf("unicode.Digit range %U..%U stride %d is not whole runs of ten", rg.Lo, rg.Hi, rg.Stride)
		}
	}
	for _, rg := range unicode.Digit.R32 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Errorf("unicode.Digit range %U..%U stride %d is not whole runs of ten", rg.Lo, rg.Hi, rg.Stride)
		}
	}
	tests := []struct {
		r    rune
		want byte
	}{
		{'7', 7},
		{'٣', 3},          // ARABIC-INDIC DIGIT THREE
		{'۷', 7},          // EXTENDED ARABIC-INDIC DIGIT SEVEN
		{'８', 8},          // FULLWIDTH DIGIT EIGHT
		{'९', 9},          // DEVANAGARI DIGIT NINE
		{'০', 0},          // BENGALI DIGIT ZERO
		{'\U0001D7D9', 1}, // MATHEMATICAL DOUBLE-STRUCK DIGIT ONE, in a merged range
		{'\U0001D7FF', 9}, // MATHEMATICAL MONOSPACE DIGIT NINE, end of that range
	}
	for _, tc := range tests {
		if got := digitValue(tc.r); got != tc.want {
			t.Errorf("digitValue(%U) = %d, want %d", tc.r, got, tc.want)
		}
	}
}

// BenchmarkParsePhone parses numbers it has not seen (the memo misses):
// four spellings, each with a new subscriber number per iteration.
func BenchmarkParsePhone(b *testing.B) {
	formats := []struct{ format, region string }{
		{"+49 151 %04d 5678", ""},
		{"(650) 253-%04d", "US"},
		{"+52 1 55 %04d 5678", ""},
		{"＋４９　１５１　%04d　５６７８", ""},
	}
	i := 0
	for b.Loop() {
		i++
		for _, f := range formats {
			if _, err := ParsePhone(fmt.Sprintf(f.format, i%10000), f.region); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkParsePhoneAgain parses the same four numbers over and over (the
// memo hits), as for the statuses of one message.
func BenchmarkParsePhoneAgain(b *testing.B) {
	inputs := []struct{ raw, region string }{
		{"+49 151 1234 5678", ""},
		{"(650) 253-0000", "US"},
		{"+52 1 55 1234 5678", ""},
		{"＋４９　１５１　１２３４　５６７８", ""},
	}
	for b.Loop() {
		for _, in := range inputs {
			if _, err := ParsePhone(in.raw, in.region); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func FuzzParsePhone(f *testing.F) {
	for _, tc := range phoneCases {
		f.Add(tc.raw, tc.region)
	}
	keys := map[string]bool{
		"phone.empty": true, "phone.letters": true, "phone.too_short": true,
		"phone.too_long": true, "phone.invalid_region": true, "phone.invalid": true,
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := ParsePhone(raw, region)
		if err != nil {
			if key := phoneErrorKey(t, err); !keys[key] {
				t.Fatalf("ParsePhone(%q, %q) key = %q, not a known key", raw, region, key)
			}
			return
		}
		if len(got) < 8 || len(got) > 16 || got[0] != '+' || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("ParsePhone(%q, %q) = %q, not E.164", raw, region, got)
		}
		again, err := ParsePhone(got, region)
		if err != nil || again != got {
			t.Fatalf("ParsePhone(%q, %q) = %q, %v; want %q (from %q)", got, region, again, err, got, raw)
		}
	})
}

// TestParsePhoneMemo: a number parsed again, by many goroutines at once,
// gets the first parse's answer, refusals included, whatever else went
// through the memo meanwhile.
func TestParsePhoneMemo(t *testing.T) {
	t.Parallel()
	type answer struct {
		e164 string
		err  string
	}
	parse := func(tc phoneCase) answer {
		got, err := ParsePhone(tc.raw, tc.region)
		a := answer{e164: got}
		if err != nil {
			a.err = err.Error()
		}
		return a
	}
	first := make([]answer, len(phoneCases))
	for i, tc := range phoneCases {
		first[i] = parse(tc)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for round := range 20 {
				for i := range phoneCases {
					i := (i + g + round) % len(phoneCases)
					// Other numbers between: each run takes and evicts slots.
					ParsePhone(fmt.Sprintf("+49151%08d", g*1000+round), "")
					if got := parse(phoneCases[i]); got != first[i] {
						t.Errorf("%s: again %+v, first %+v", phoneCases[i].name, got, first[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
