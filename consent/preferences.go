package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PreferenceTokensKept is how many live preference links a contact keeps.
//
// Only a token's hash is stored, so a link can't be shown twice: every
// message that carries a link gets a new token. Keeping the few most recent
// ones means the link in the STOP confirmation still works after a later
// HELP reply, while a link from long ago stops working by itself.
const PreferenceTokensKept = 5

// tokenBytes is the randomness of a preference token: 256 bits, 43
// characters of base64url.
const tokenBytes = 32

// PreferenceStore keeps the preference center's links and reads what a
// person can download about themselves.
type PreferenceStore interface {
	// AddPreferenceToken stores the hash of a new token for a contact and
	// retires all but the keep most recent live ones. ErrNotFound for an
	// unknown contact.
	AddPreferenceToken(ctx context.Context, contactID int64, hash string, at time.Time, keep int) error
	// ContactByPreferenceToken returns the contact of a live token's hash;
	// ErrNotFound for a retired, unknown or forged one.
	ContactByPreferenceToken(ctx context.Context, hash string) (Contact, error)
	// Events returns a contact's events in the order they were recorded.
	Events(ctx context.Context, contactID int64) ([]Event, error)
	// Messages returns the messages sent (or to be sent) to a contact.
	Messages(ctx context.Context, contactID int64) ([]OutboxMessage, error)
	// InboundTexts returns what a contact wrote, oldest first.
	InboundTexts(ctx context.Context, contactID int64) ([]string, error)
	// Wording returns the wording with the given hash.
	Wording(ctx context.Context, hash string) (Wording, error)
}

// PreferenceLink returns a new personal link to the contact's preference
// center (BaseURL + "/p/" + token). Each call makes a new token, because the
// old ones can't be read back; the contact keeps the PreferenceTokensKept
// most recent ones.
func (s *Service) PreferenceLink(ctx context.Context, contactID int64) (string, error) {
	token, err := s.addToken(ctx, contactID, PreferenceTokensKept)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/p/" + token, nil
}

// RotateToken is the person asking for a new link: every earlier link of
// the contact stops working, and the new token is returned.
func (s *Service) RotateToken(ctx context.Context, contactID int64) (string, error) {
	return s.addToken(ctx, contactID, 1)
}

func (s *Service) addToken(ctx context.Context, contactID int64, keep int) (string, error) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	token := base64.RawURLEncoding.EncodeToString(b)
	if err := s.store.AddPreferenceToken(ctx, contactID, tokenHash(token), s.clock.Now(), keep); err != nil {
		return "", fmt.Errorf("preference token for contact %d: %w", contactID, err)
	}
	return token, nil
}

// PreferenceContact returns the contact a preference token belongs to. A
// retired, unknown or malformed token is ErrNotFound, all alike. The token
// is looked up by its hash, so the lookup's timing says nothing about how
// much of a guessed token was right.
func (s *Service) PreferenceContact(ctx context.Context, token string) (Contact, error) {
	if !wellFormedToken(token) {
		return Contact{}, ErrNotFound
	}
	return s.store.ContactByPreferenceToken(ctx, tokenHash(token))
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken reports whether token could have been made by addToken,
// so that junk never reaches the database.
func wellFormedToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	for _, r := range token {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			return false
		}
	}
	return true
}

// PreferenceItem is one category as the preference center shows it.
type PreferenceItem struct {
	Category Category
	State    State // "" when the contact never subscribed to it
	Since    time.Time
	Source   Source
}

// Preferences lists every category, with its texts in lang, and the
// contact's state for it.
func (s *Service) Preferences(ctx context.Context, contactID int64, lang string) ([]PreferenceItem, error) {
	cats, err := s.Categories(ctx, lang)
	if err != nil {
		return nil, err
	}
	consents, err := s.store.Consents(ctx, contactID)
	if err != nil {
		return nil, err
	}
	have := map[string]Consent{}
	for _, c := range consents {
		have[c.Category] = c
	}
	out := make([]PreferenceItem, 0, len(cats))
	for _, cat := range cats {
		c := have[cat.Slug]
		out = append(out, PreferenceItem{Category: cat, State: c.State, Since: c.Since, Source: c.Source})
	}
	return out, nil
}

// PreferenceChange is what a person saved in the preference center.
type PreferenceChange struct {
	ContactID  int64
	Lang       string
	Categories []string // the ticked boxes
	// Wording is the consent text shown above the Save button, recorded with
	// any category opted in again.
	Wording  string
	Evidence Evidence
}

// SavePreferences applies the ticked boxes. An unticked category that is
// opted in or pending is opted out; a ticked one that was opted out is opted
// in again, with the page's wording as evidence. A category the contact never
// subscribed to stays as it is: new consent is collected by the opt-in flows,
// which send the welcome message (and ask for confirmation in double mode).
// An unknown category is a *ValidationError and changes nothing. Opt-outs are
// applied before opt-ins, each in one transaction. It returns the slugs that
// changed.
func (s *Service) SavePreferences(ctx context.Context, p PreferenceChange) ([]string, error) {
	items, err := s.Preferences(ctx, p.ContactID, p.Lang)
	if err != nil {
		return nil, err
	}
	ticked := map[string]bool{}
	for _, slug := range p.Categories {
		ticked[strings.TrimSpace(slug)] = true
	}
	reopt := false
	for _, it := range items {
		slug := it.Category.Slug
		reopt = reopt || (ticked[slug] && it.State == OptedOut)
		delete(ticked, slug)
	}
	verr := &ValidationError{}
	if len(ticked) > 0 {
		verr.Add("category", "category.unknown")
	}
	if reopt && strings.TrimSpace(p.Wording) == "" {
		verr.Add("wording", "wording.missing")
	}
	if err := verr.OrNil(); err != nil {
		return nil, err
	}
	ev := s.preferenceEvidence(p.Evidence, "save")
	now := s.clock.Now()
	plan, err := s.store.Apply(ctx, p.ContactID, func(snap Snapshot) (Plan, error) {
		t, err := Decide(snap.Consents, Act{Kind: ActPreferences, Categories: p.Categories})
		if err != nil {
			return Plan{}, err
		}
		pl := Plan{At: now, Lang: p.Lang, Evidence: ev, Transitions: t}
		if slices.ContainsFunc(t, func(t Transition) bool { return t.To == OptedIn }) {
			w := NewWording("consent", p.Lang, p.Wording)
			pl.Wording = &w
		}
		return pl, nil
	})
	if err != nil {
		return nil, err
	}
	return Changed(plan.Transitions), nil
}

// OptOutAll opts the contact out of every category it is opted in to or
// pending for, and cancels what is still queued for it, as a STOP does. No
// confirmation is sent: the page shows it.
func (s *Service) OptOutAll(ctx context.Context, contactID int64, lang string, ev Evidence) ([]string, error) {
	ev = s.preferenceEvidence(ev, "stop_all")
	now := s.clock.Now()
	plan, err := s.store.Apply(ctx, contactID, func(snap Snapshot) (Plan, error) {
		t, err := Decide(snap.Consents, Act{Kind: ActOptOut})
		return Plan{At: now, Lang: lang, Evidence: ev, Transitions: t, CancelQueued: true}, err
	})
	if err != nil {
		return nil, err
	}
	return Changed(plan.Transitions), nil
}

// preferenceEvidence marks evidence as coming from the preference center,
// with the address truncated and the action taken.
func (s *Service) preferenceEvidence(ev Evidence, action string) Evidence {
	ev.Source = SourcePreferenceCenter
	ev.IP = TruncateIP(ev.IP)
	ev.Detail = map[string]string{"action": action}
	return ev
}

// EraseByPerson erases the contact at the person's own request, from the
// preference center, exactly as the MO flow erases: the contact and all it
// wrote go, a tombstone stays.
func (s *Service) EraseByPerson(ctx context.Context, contactID int64) error {
	c, err := s.store.ContactByID(ctx, contactID)
	if err != nil {
		return err
	}
	return s.erase(ctx, c, "person", EventErased, SourcePreferenceCenter, "")
}

// PersonData is everything optin keeps about a person, for them to
// download: the contact, its consents, the events with their evidence and
// the wordings those reference, and the messages exchanged.
type PersonData struct {
	Contact  Contact
	Consents []Consent
	Events   []Event
	Wordings []Wording // those the events reference, in order of first use
	Sent     []OutboxMessage
	Received []string
}

// PersonData collects what optin keeps about the contact.
func (s *Service) PersonData(ctx context.Context, contactID int64) (PersonData, error) {
	var d PersonData
	var err error
	if d.Contact, err = s.store.ContactByID(ctx, contactID); err != nil {
		return PersonData{}, err
	}
	if d.Consents, err = s.store.Consents(ctx, contactID); err != nil {
		return PersonData{}, err
	}
	if d.Events, err = s.store.Events(ctx, contactID); err != nil {
		return PersonData{}, err
	}
	seen := map[string]bool{}
	for _, e := range d.Events {
		if e.WordingHash == "" || seen[e.WordingHash] {
			continue
		}
		seen[e.WordingHash] = true
		w, err := s.store.Wording(ctx, e.WordingHash)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return PersonData{}, err
		}
		d.Wordings = append(d.Wordings, w)
	}
	if d.Sent, err = s.store.Messages(ctx, contactID); err != nil {
		return PersonData{}, err
	}
	if d.Received, err = s.store.InboundTexts(ctx, contactID); err != nil {
		return PersonData{}, err
	}
	return d, nil
}

// LinkPlaceholder stands in a queued message for the person's preference
// link (or, in a template's URL button, its token). The dispatcher replaces
// it at send time, so the outbox never holds a live token.
const LinkPlaceholder = "{{optin_preference_link}}"

// FillPreferenceLink replaces LinkPlaceholder in m with a fresh link of the
// contact: in the sandbox preview and text as the whole URL, in a template's
// URL button as the token (the approved button URL ends in /p/{{1}}).
func (s *Service) FillPreferenceLink(ctx context.Context, contactID int64, m *Message) error {
	if !strings.Contains(m.Text, LinkPlaceholder) && (m.Template == nil || !templateHasPlaceholder(m.Template)) {
		return nil
	}
	token, err := s.addToken(ctx, contactID, PreferenceTokensKept)
	if err != nil {
		return err
	}
	link := strings.TrimRight(s.cfg.BaseURL, "/") + "/p/" + token
	m.Text = strings.ReplaceAll(m.Text, LinkPlaceholder, link)
	if t := m.Template; t != nil {
		t.Preview = strings.ReplaceAll(t.Preview, LinkPlaceholder, link)
		for i := range t.Buttons {
			t.Buttons[i].Text = strings.ReplaceAll(t.Buttons[i].Text, LinkPlaceholder, token)
		}
	}
	return nil
}

func templateHasPlaceholder(t *Template) bool {
	if strings.Contains(t.Preview, LinkPlaceholder) {
		return true
	}
	for _, b := range t.Buttons {
		if strings.Contains(b.Text, LinkPlaceholder) {
			return true
		}
	}
	return false
}
