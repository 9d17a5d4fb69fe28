package consent

import (
	"errors"
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Message keys ParsePhone reports under the "phone" field. The web catalog
// translates them; renaming one breaks its message.
const (
	phoneEmpty         = "phone.empty"
	phoneLetters       = "phone.letters"
	phoneTooShort      = "phone.too_short"
	phoneTooLong       = "phone.too_long"
	phoneInvalidRegion = "phone.invalid_region"
	phoneInvalid       = "phone.invalid"
)

// maxPhoneInput caps what ParsePhone reads, in characters. A number with
// every separator a person might type fits well within it; anything longer
// is rejected before the regular expressions of the library see it.
const maxPhoneInput = 64

// maxE164 is "+" and the 15 digits E.164 allows.
const maxE164 = 16

// ParsePhone parses a phone number typed by a person (or sent by a system)
// and returns it in E.164 ("+4915112345678"). region is an ISO 3166 alpha-2
// code ("US") used for numbers typed without a country code; it may be empty
// when every number is expected to start with + or 00.
//
// The input is normalised first: digits of any script become ASCII,
// invisible formatting characters (zero-width, bidi marks) and spaces and
// the separators - . ( ) / are dropped, a leading "tel:" is removed and a
// leading 00 is read as +. Letters are refused, so vanity numbers such as
// 1-800-FLOWERS are not accepted. A Mexican mobile in the old form with a 1
// after the country code (+52 1 55 …, still used by WhatsApp's wa_id) is
// accepted as the current form (+52 55 …).
//
// On failure the error is a *ValidationError whose only field is "phone",
// holding one of the keys phone.empty, phone.letters, phone.too_short,
// phone.too_long, phone.invalid_region or phone.invalid.
func ParsePhone(raw, region string) (string, error) {
	// A rune takes at most 4 bytes, so the byte test settles huge inputs
	// without reading them.
	if len(raw) > 4*maxPhoneInput || utf8.RuneCountInString(raw) > maxPhoneInput {
		return "", phoneError(phoneTooLong)
	}
	slot := memoSlot(raw, region)
	if m := slot.Load(); m != nil && m.raw == raw && m.region == region {
		return m.e164, nil
	}
	s, key := normalizePhone(raw)
	if key != "" {
		return "", phoneError(key)
	}

	n, err := phonenumbers.Parse(s, strings.ToUpper(strings.TrimSpace(region)))
	if err != nil {
		return "", phoneError(parseErrorKey(err))
	}
	n = dropMexicanMobileOne(n)
	n = addBrazilNinthDigit(n)

	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.IS_POSSIBLE:
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		// Local only means the area code is missing: too short to reach
		// from WhatsApp, which always dials internationally.
		return "", phoneError(phoneTooShort)
	case phonenumbers.TOO_LONG:
		return "", phoneError(phoneTooLong)
	default: // INVALID_LENGTH, INVALID_COUNTRY_CODE
		return "", phoneError(phoneInvalidRegion)
	}
	// Format returns a string even for invalid numbers.
	if !phonenumbers.IsValidNumber(n) {
		return "", phoneError(phoneInvalidRegion)
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if len(e164) > maxE164 {
		return "", phoneError(phoneTooLong)
	}
	slot.Store(&parsed{raw: strings.Clone(raw), region: strings.Clone(region), e164: e164})
	return e164, nil
}

// ParsePhone remembers its recent answers for numbers it accepted. WhatsApp
// reports a message's sent, delivered and read statuses for the same
// number, and each parse runs the library's regular expressions again (a
// twelfth of the server's CPU under a webhook load, issue 11). The memo is
// direct-mapped and lock-free: a number takes the slot its hash picks, and
// another number hashed there replaces it. Refusals are not kept: their
// errors are values the caller may change.
type parsed struct{ raw, region, e164 string }

var (
	parseMemo [1024]atomic.Pointer[parsed]
	memoSeed  = maphash.MakeSeed()
)

func memoSlot(raw, region string) *atomic.Pointer[parsed] {
	var h maphash.Hash
	h.SetSeed(memoSeed)
	h.WriteString(raw)
	h.WriteByte(0)
	h.WriteString(region)
	return &parseMemo[h.Sum64()%uint64(len(parseMemo))]
}

// WaID returns the number as WhatsApp and its providers write it: the E.164
// digits without the "+" (the wa_id, and the "to" of a message). e164 must
// come from ParsePhone.
func WaID(e164 string) string {
	return strings.TrimPrefix(e164, "+")
}

func phoneError(key string) error {
	e := &ValidationError{}
	e.Add("phone", key)
	return e
}

// normalizePhone reduces raw to an optional leading "+" and ASCII digits, or
// returns the message key saying why it can't.
func normalizePhone(raw string) (string, string) {
	s := strings.TrimLeftFunc(raw, isPhoneInvisible)
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		s = s[4:]
	}

	var (
		b              strings.Builder
		plus           bool
		digits         int
		letters, stray bool
	)
	b.Grow(len(s) + 1)
	for _, r := range s {
		switch {
		case isPhoneInvisible(r) || isPhoneSeparator(r):
		case r == '+' || r == '＋':
			// A plus after a digit, or a second one, is not a number.
			if plus || digits > 0 {
				stray = true
			}
			plus = true
		case unicode.IsDigit(r):
			b.WriteByte('0' + digitValue(r))
			digits++
		case unicode.IsLetter(r):
			letters = true
		default:
			stray = true
		}
	}
	switch {
	case letters:
		return "", phoneLetters
	case stray:
		return "", phoneInvalid
	case digits == 0:
		return "", phoneEmpty
	}
	d := b.String()
	if plus {
		return "+" + d, ""
	}
	// 00 is the international prefix nearly everywhere; the library only
	// knows it when region says so, and reads "0049…" as a US number when
	// region is US.
	if rest, ok := strings.CutPrefix(d, "00"); ok {
		return "+" + rest, ""
	}
	return d, ""
}

// isPhoneInvisible reports characters people can't see but copy and paste
// along with a number: spaces of every kind (NBSP, narrow NBSP, ideographic
// space) and format characters, which include the zero-width characters
// U+200B..U+200D, U+2060 and U+FEFF and the bidi marks U+200E, U+200F,
// U+202A..U+202E and U+2066..U+2069.
func isPhoneInvisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// isPhoneSeparator reports the punctuation people group digits with,
// including dashes of every width and the full-width forms that
// Chinese and Japanese keyboards produce.
func isPhoneSeparator(r rune) bool {
	switch r {
	case '.', '(', ')', '/', '．', '（', '）', '／', '−': // − is U+2212 MINUS SIGN
		return true
	}
	return unicode.Is(unicode.Pd, r)
}

// digitValue returns the value of r, a decimal digit (category Nd) of any
// script. Unicode encodes those digits in runs of ten from 0 to 9, and the
// ranges of unicode.Digit are whole runs (TestPhoneDigitTable checks it), so
// the value is the offset into the range modulo 10.
func digitValue(r rune) byte {
	if '0' <= r && r <= '9' {
		return byte(r - '0')
	}
	for _, rg := range unicode.Digit.R16 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); lo <= r && r <= hi {
			return byte((r - lo) % 10)
		}
	}
	for _, rg := range unicode.Digit.R32 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); lo <= r && r <= hi {
			return byte((r - lo) % 10)
		}
	}
	return 0 // not reached for runes unicode.IsDigit accepts
}

// dropMexicanMobileOne turns the pre-2019 Mexican mobile form +52 1 XXXXXXXXXX
// into the current +52 XXXXXXXXXX. The library finds the old form invalid,
// but WhatsApp's wa_id for Mexican mobiles still has the 1, so people and
// providers keep sending it.
func dropMexicanMobileOne(n *phonenumbers.PhoneNumber) *phonenumbers.PhoneNumber {
	if n.GetCountryCode() != 52 {
		return n
	}
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if len(nsn) != 11 || nsn[0] != '1' {
		return n
	}
	m, err := phonenumbers.Parse("+52"+nsn[1:], "")
	if err != nil {
		return n
	}
	return m
}

// addBrazilNinthDigit gives a Brazilian mobile in the old 8-digit form (a
// wa_id of an older WhatsApp account, 55 11 8765-4321) its ninth digit
// (55 11 98765-4321), the form every Brazilian mobile has today. Only
// numbers invalid as they are and valid with the 9 change.
func addBrazilNinthDigit(n *phonenumbers.PhoneNumber) *phonenumbers.PhoneNumber {
	if n.GetCountryCode() != 55 || phonenumbers.IsValidNumber(n) {
		return n
	}
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if len(nsn) != 10 || nsn[2] < '6' {
		return n
	}
	m, err := phonenumbers.Parse("+55"+nsn[:2]+"9"+nsn[2:], "")
	if err != nil || !phonenumbers.IsValidNumber(m) {
		return n
	}
	return m
}

// parseErrorKey maps an error from phonenumbers.Parse to a message key.
func parseErrorKey(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		// Either the country code after + doesn't exist, or the number
		// has none and no region was given: in both cases the person has
		// to fix the country part.
		return phoneInvalidRegion
	case errors.Is(err, phonenumbers.ErrTooShortNSN),
		errors.Is(err, phonenumbers.ErrTooShortAfterIDD),
		// Our input is digits only by now, and the library calls a
		// single digit "not a number".
		errors.Is(err, phonenumbers.ErrNotANumber):
		return phoneTooShort
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return phoneTooLong
	}
	return phoneInvalid
}

// MatchKey is the key under which optin finds a person by number, the same
// for every spelling WhatsApp and people use for one WhatsApp account: the
// digits of the number, with Argentina's mobile 9 (+54 9 11 …, WhatsApp's
// wa_id; people type +54 11 …), Mexico's old mobile 1 (+52 1 55 …) and
// Brazil's ninth digit (+55 11 9 …; older accounts have a 12-digit wa_id)
// taken out. It takes an E.164 number or a wa_id.
func MatchKey(number string) string {
	d := strings.TrimPrefix(number, "+")
	switch {
	case len(d) == 13 && strings.HasPrefix(d, "549"):
		return "54" + d[3:]
	case len(d) == 13 && strings.HasPrefix(d, "521"):
		return "52" + d[3:]
	case len(d) == 13 && strings.HasPrefix(d, "55") && d[4] == '9':
		return d[:4] + d[5:]
	}
	return d
}
