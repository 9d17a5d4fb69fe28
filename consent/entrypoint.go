package consent

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// EntryPoint is a code that identifies where a person came from (a poster,
// an email campaign, a shop's checkout). It yields a wa.me link with a signed
// start text, a short counted link and QR codes, and names the categories a
// person who writes in through it is offered.
type EntryPoint struct {
	ID         int64
	Code       string
	Name       string
	Categories []string // slugs, in catalog order
	// The funnel: scans of the short link or QR code → conversations
	// started with the code → people who accepted the terms.
	Scans, Conversations, Accepted int
	CreatedAt                      time.Time
}

// EntryStore keeps entry points and their counters.
type EntryStore interface {
	// EntryPoints lists every entry point, oldest first.
	EntryPoints(ctx context.Context) ([]EntryPoint, error)
	// EntryPointByCode returns the entry point with code, or ErrNotFound.
	EntryPointByCode(ctx context.Context, code string) (EntryPoint, error)
	// CreateEntryPoint stores e, created at at; ErrConflict when the code is taken.
	CreateEntryPoint(ctx context.Context, e EntryPoint, at time.Time) (EntryPoint, error)
	// CountEntry adds one to the counter what (EntryScans,
	// EntryConversations or EntryAccepted) of code; ErrNotFound for an
	// unknown code.
	CountEntry(ctx context.Context, code, what string) error
	// UpdateEntryPoint changes the name and categories of the entry point
	// with e.Code; ErrNotFound for an unknown code.
	UpdateEntryPoint(ctx context.Context, e EntryPoint, at time.Time) error
}

// The counters of an entry point's funnel, for EntryStore.CountEntry.
const (
	EntryScans         = "scans"
	EntryConversations = "conversations"
	EntryAccepted      = "accepted"
)

// DefaultEntryPoint is the code of the entry point seeded with the schema,
// offering every seeded category.
const DefaultEntryPoint = "HELLO"

// entryStartWord begins every start text. It is also an opt-in keyword, so a
// person who edits the code away still gets a sensible answer.
const entryStartWord = "START"

// entrySigLen is the length of a start text's signature: 4 characters of 5 bits
// are 2^20 possibilities, so guessing a valid signature takes about half a
// million WhatsApp messages, while the text stays short enough to look
// harmless in the chat.
const entrySigLen = 4

// entrySigEncoding writes signatures with the code's own alphabet minus I and O,
// which people confuse with 1 and 0 (which no code or signature contains).
var entrySigEncoding = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

// ValidEntryCode reports whether code has the form of an entry point code:
// 3 to 10 characters of upper-case A–Z and 2–9.
func ValidEntryCode(code string) bool {
	if len(code) < 3 || len(code) > 10 {
		return false
	}
	for _, r := range code {
		if (r < 'A' || r > 'Z') && (r < '2' || r > '9') {
			return false
		}
	}
	return true
}

// normalizeEntryCode makes a code typed or pasted by someone comparable:
// codes are case-insensitive.
func normalizeEntryCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// CreateEntryPoint validates and stores a new entry point. The code is
// case-insensitive and stored upper-case; categories must be known slugs and
// are kept in catalog order. A taken code is ErrConflict.
func (s *Service) CreateEntryPoint(ctx context.Context, code, name string, categories []string) (EntryPoint, error) {
	verr := &ValidationError{}
	code = normalizeEntryCode(code)
	if !ValidEntryCode(code) {
		verr.Add("code", "entry.code")
	}
	e, err := s.validEntry(ctx, code, name, categories, verr)
	if err != nil {
		return EntryPoint{}, err
	}
	return s.store.CreateEntryPoint(ctx, e, s.clock.Now())
}

// UpdateEntryPoint changes the name and the categories of the entry point
// with code. The code itself never changes: it is printed on posters and
// recorded in events. ErrNotFound for an unknown code.
func (s *Service) UpdateEntryPoint(ctx context.Context, code, name string, categories []string) (EntryPoint, error) {
	code = normalizeEntryCode(code)
	if !ValidEntryCode(code) {
		return EntryPoint{}, ErrNotFound
	}
	e, err := s.validEntry(ctx, code, name, categories, &ValidationError{})
	if err != nil {
		return EntryPoint{}, err
	}
	if err := s.store.UpdateEntryPoint(ctx, e, s.clock.Now()); err != nil {
		return EntryPoint{}, err
	}
	return s.store.EntryPointByCode(ctx, code)
}

// validEntry checks an entry point's name and categories, adding to verr,
// and returns the entry point with the categories in catalog order.
func (s *Service) validEntry(ctx context.Context, code, name string, categories []string, verr *ValidationError) (EntryPoint, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		verr.Add("name", "entry.name")
	} else if !CleanText(name) {
		verr.Add("name", "text.invalid_chars")
	}
	all, err := s.Categories(ctx, "en")
	if err != nil {
		return EntryPoint{}, err
	}
	want := map[string]bool{}
	for _, c := range categories {
		if c = strings.TrimSpace(c); c != "" {
			want[c] = true
		}
	}
	var slugs []string
	for _, c := range all {
		if want[c.Slug] {
			slugs = append(slugs, c.Slug)
			delete(want, c.Slug)
		}
	}
	if len(slugs) == 0 || len(want) > 0 {
		verr.Add("categories", "entry.categories")
	}
	if err := verr.OrNil(); err != nil {
		return EntryPoint{}, err
	}
	return EntryPoint{Code: code, Name: name, Categories: slugs}, nil
}

// EntryPoint returns the entry point with code (case-insensitive), or
// ErrNotFound.
func (s *Service) EntryPoint(ctx context.Context, code string) (EntryPoint, error) {
	code = normalizeEntryCode(code)
	if !ValidEntryCode(code) {
		return EntryPoint{}, ErrNotFound
	}
	return s.store.EntryPointByCode(ctx, code)
}

// EntryPoints lists every entry point with its counters, oldest first.
func (s *Service) EntryPoints(ctx context.Context) ([]EntryPoint, error) {
	return s.store.EntryPoints(ctx)
}

// Scan counts a scan of the entry point's short link or QR code (via is
// SourceLink or SourceQR) and returns the wa.me link to send the person on
// to; ErrNotFound for an unknown code.
func (s *Service) Scan(ctx context.Context, code string, via Source) (string, error) {
	code = normalizeEntryCode(code)
	if !ValidEntryCode(code) {
		return "", ErrNotFound
	}
	if err := s.store.CountEntry(ctx, code, EntryScans); err != nil {
		return "", err
	}
	return s.WaMeLinkVia(code, via), nil
}

// StartText is the message prefilled by an entry point's wa.me link:
// "START CODE-SIG", where SIG is derived from the code with Config.EntryKey
// so that an edited or made-up code is detected when the message arrives.
func (s *Service) StartText(code string) string { return s.StartTextVia(code, SourceLink) }

// StartTextVia is the start text of the link that a QR code (via SourceQR)
// or the short link (any other via) leads to. The two differ only in their
// signature, so that the opt-in can record how the person came without the
// person seeing, or being able to change, a marker.
func (s *Service) StartTextVia(code string, via Source) string {
	code = normalizeEntryCode(code)
	return entryStartWord + " " + code + "-" + s.entrySig(code, entryVia(via))
}

func entryVia(via Source) Source {
	if via == SourceQR {
		return SourceQR
	}
	return SourceLink
}

// entrySig is the first entrySigLen characters of HMAC-SHA256(EntryKey,
// code), or of HMAC-SHA256(EntryKey, "qr:" + code) for the QR code's text.
func (s *Service) entrySig(code string, via Source) string {
	mac := hmac.New(sha256.New, s.cfg.EntryKey)
	if via == SourceQR {
		mac.Write([]byte("qr:"))
	}
	mac.Write([]byte(code))
	// 3 bytes are 24 bits, enough for the 20 that entrySigLen characters carry.
	return entrySigEncoding.EncodeToString(mac.Sum(nil)[:3])[:entrySigLen]
}

// ParseStartCode reads what follows START in an incoming message, such as
// "7KQ2-AB3D" (or "7kq2 - ab3d": case and spaces are forgiven, since people
// and keyboards change them), and returns the code and whether its signature
// is genuine. Words after the signature are ignored. A code without a
// signature, or with a wrong one, is not valid; text that cannot be a code
// at all gives "". via is how a genuine code came: SourceLink or SourceQR
// (told apart by the signature); "" when the code is not genuine.
func (s *Service) ParseStartCode(rest string) (code string, via Source) {
	fields := strings.FieldsFunc(strings.ToUpper(rest), func(r rune) bool { return r == '-' || unicode.IsSpace(r) })
	if len(fields) == 0 || !ValidEntryCode(fields[0]) {
		return "", ""
	}
	code = fields[0]
	if len(fields) < 2 {
		return code, ""
	}
	for _, v := range []Source{SourceLink, SourceQR} {
		if hmac.Equal([]byte(fields[1]), []byte(s.entrySig(code, v))) {
			return code, v
		}
	}
	return code, ""
}

// WaMeLink is the link that opens a chat with the business with the entry
// point's start text prefilled.
func (s *Service) WaMeLink(code string) string { return s.WaMeLinkVia(code, SourceLink) }

// WaMeLinkVia is WaMeLink for a QR code's scans (via SourceQR) or the short
// link's.
func (s *Service) WaMeLinkVia(code string, via Source) string {
	// wa.me wants the number as digits only, and spaces in the text as %20:
	// some WhatsApp clients show a "+" from form encoding literally.
	// QueryEscape turns a literal "+" into %2B, so every "+" left is a space.
	text := strings.ReplaceAll(url.QueryEscape(s.StartTextVia(code, via)), "+", "%20")
	return "https://wa.me/" + waMeDigits(s.cfg.BusinessNumber) + "?text=" + text
}

// waMeDigits keeps the digits of an E.164 number.
func waMeDigits(number string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, number)
}
