package consent

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// InboundRecord is an inbound message to store, with what to give the
// contact when the number is new.
type InboundRecord struct {
	Message     InboundMessage
	Phone       string // E.164 of the sender
	Lang        string
	EntryPoint  string
	EntryValid  bool
	EntryVia    Source // SourceLink or SourceQR when EntryValid
	TermsExpire time.Time
	At          time.Time
}

// InboundOutcome is what storing an inbound message found.
type InboundOutcome struct {
	Contact Contact
	Created bool // the number was unknown: the contact is new, pending_terms
	Handled bool // the message was handled before; nothing to do
}

// Tombstone is what remains of an erased contact.
type Tombstone struct {
	PhoneHash string
	Reason    string // terms_refused, terms_expired, person, admin, api
	Actor     string
	At        time.Time
	Event     EventType // recorded with the erasure, when set
	Source    Source
}

// MOStore keeps what people write and records what the MO flow decides.
type MOStore interface {
	// HandleInbound stores an inbound message and records the plan decide
	// returns for it, in one transaction; handled reports a message handled
	// before (nothing is done again).
	HandleInbound(ctx context.Context, r InboundRecord, decide Decider) (handled bool, p Plan, err error)
	// Apply records the plan decide returns on the contact's snapshot, in one
	// transaction.
	Apply(ctx context.Context, contactID int64, decide Decider) (Plan, error)
	// ApplyToNumber is Apply for the contact with a number (any spelling),
	// created active in lang when there is none.
	ApplyToNumber(ctx context.Context, phone, lang string, at time.Time, decide Decider) (Snapshot, Plan, error)
	ContactByID(ctx context.Context, id int64) (Contact, error)
	EraseContact(ctx context.Context, contactID int64, t Tombstone) error
	ExpiredTerms(ctx context.Context, now time.Time, limit int) ([]Contact, error)
	EnqueueForward(ctx context.Context, contactID int64, body []byte, at time.Time) error
	// CloseWindow ends the contact's 24-hour window at at (WhatsApp said it
	// is closed: error 470).
	CloseWindow(ctx context.Context, contactID int64, at time.Time) error
}

// Reply button ids of the terms prompt.
const (
	ButtonAcceptTerms  = "optin_terms_accept"
	ButtonDeclineTerms = "optin_terms_decline"
)

// Handle applies what one webhook call reported: messages go through the
// consent flows (terms prompt, keywords, buttons) or are forwarded;
// statuses update the message log; preference changes move the marketing
// categories.
func (s *Service) Handle(ctx context.Context, in Inbound) error {
	for _, m := range in.Messages {
		if err := s.handleMessage(ctx, m); err != nil {
			return fmt.Errorf("message %s: %w", m.ID, err)
		}
	}
	for _, st := range in.Statuses {
		if err := s.handleStatus(ctx, st); err != nil {
			return err
		}
	}
	for _, p := range in.Preferences {
		if err := s.handlePreference(ctx, p); err != nil {
			return err
		}
	}
	if err := s.applyAccountUpdates(ctx, in.Account); err != nil { // quality.go
		return err
	}
	return s.handleProviderErrors(ctx, in.Errors)
}

func (s *Service) handleMessage(ctx context.Context, m InboundMessage) error {
	if m.ID == "" || m.From == "" {
		return nil // nothing to attach it to
	}
	now := s.clock.Now()
	phone, err := ParsePhone("+"+strings.TrimPrefix(m.From, "+"), "")
	if err != nil {
		phone = "+" + strings.TrimPrefix(m.From, "+") // keep what WhatsApp said
	}
	aliases, err := s.categoryAliases(ctx)
	if err != nil {
		return err
	}
	kw := MatchKeyword(m.Text, aliases)
	if m.Type == InButton || m.Type == InButtonReply {
		kw = Keyword{} // buttons are handled by their ids, not their titles
	}
	entry, valid, via := DefaultEntryPoint, false, Source("")
	if kw.Kind == KeywordStart && kw.Rest != "" {
		if code, v := s.ParseStartCode(kw.Rest); code != "" {
			entry, valid, via = code, v != "", v
		}
	}
	// Everything the decision needs is read before the transaction: the
	// decider runs inside it and must not reach for the store.
	cat, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	rec := InboundRecord{Message: m, Phone: phone, Lang: s.lang(kw.Lang), EntryPoint: entry, EntryValid: valid, EntryVia: via,
		TermsExpire: now.Add(s.termsTTL()), At: now}
	_, p, err := s.store.HandleInbound(ctx, rec, func(snap Snapshot) (Plan, error) {
		p, err := s.decideMessage(snap, m, kw, cat, aliases, now)
		return s.withCardAndReceipt(snap, m, p), err // card.go
	})
	if err != nil {
		return err
	}
	s.planned(p)
	return nil
}

// planned wakes the workers a recorded plan gave work to.
func (s *Service) planned(p Plan) {
	if (len(p.Replies) > 0 || p.Farewell != nil) && s.notify != nil {
		s.notify()
	}
	if p.Forward != nil && s.forwardWake != nil {
		s.forwardWake()
	}
}

// catalog is every category in every language messages are written in, read
// (from the cache) before a decision.
type catalog map[string][]Category

func (s *Service) catalog(ctx context.Context) (catalog, error) {
	out := catalog{}
	for _, lang := range messageLanguages {
		cats, err := s.Categories(ctx, lang)
		if err != nil {
			return nil, err
		}
		out[lang] = cats
	}
	return out, nil
}

// messageLanguages are the languages optin writes messages in.
var messageLanguages = []string{"en", "es", "pt", "de"}

// in returns the categories in lang, English when lang has none.
func (c catalog) in(lang string) []Category {
	if cats, ok := c[lang]; ok {
		return cats
	}
	return c["en"]
}

// names lists the names of slugs in lang, in catalog order.
func (c catalog) names(lang string, slugs []string) string {
	var names []string
	for _, cat := range c.in(lang) {
		if slices.Contains(slugs, cat.Slug) {
			names = append(names, cat.Name)
		}
	}
	return strings.Join(names, ", ")
}

// marketing lists the slugs of the marketing categories.
func (c catalog) marketing() []string {
	var out []string
	for _, cat := range c.in("en") {
		if cat.Marketing {
			out = append(out, cat.Slug)
		}
	}
	return out
}

// decideMessage decides what a message means for its contact.
func (s *Service) decideMessage(snap Snapshot, m InboundMessage, kw Keyword, cat catalog, aliases map[string][]string, now time.Time) (Plan, error) {
	c := snap.Contact
	lang := s.lang(cmp.Or(kw.Lang, c.Language)) // AYUDA is answered in Spanish
	p := Plan{At: now, Lang: lang, Evidence: Evidence{Source: SourceWhatsAppReply, MessageID: m.ID, MessageText: m.Text,
		EntryPoint: c.EntryPoint}}

	if m.Type == InSystem && m.NewWaID != "" {
		phone, err := ParsePhone("+"+m.NewWaID, "")
		if err != nil {
			phone = "+" + m.NewWaID
		}
		p.Evidence = Evidence{Source: SourceProvider, MessageID: m.ID}
		p.NewNumber = &NumberChange{Phone: phone, WaID: m.NewWaID}
		return p, nil
	}
	if snap.Created {
		p.CountEntry = EntryConversations
		p.Replies = []Reply{{"terms_prompt", s.termsPrompt(lang, cat.offered(lang, snap.EntryCategories))}}
		return p, nil
	}
	switch {
	case m.ButtonID == ButtonAcceptTerms:
		return s.decideAccept(snap, m, lang, cat, p, "")
	case m.ButtonID == ButtonChooseTerms:
		return s.decideChoose(snap, lang, cat, p)
	case strings.HasPrefix(m.ButtonID, RowTermsOnly):
		slug := strings.TrimPrefix(m.ButtonID, RowTermsOnly)
		if slug == "" {
			return Plan{}, nil // a forged row: "" would mean all
		}
		return s.decideAccept(snap, m, lang, cat, p, slug)
	case m.ButtonID == ButtonDeclineTerms || (c.Status == PendingTerms && kw.Kind == KeywordStop && kw.Category == ""):
		if c.Status != PendingTerms {
			return Plan{}, nil // an existing subscriber declining a new prompt keeps what they have
		}
		p.Erase = &Tombstone{PhoneHash: s.PhoneHash(c.Phone), Reason: "terms_refused", At: now, Event: EventTermsRefused,
			Source: SourceWhatsAppReply}
		bye := s.text(lang, "mo.terms.declined", s.cfg.BusinessName)
		p.Farewell = &bye
		return p, nil
	case kw.Kind == KeywordHelp:
		p.Replies = []Reply{{"help", s.helpMessage(lang, LinkPlaceholder, s.helpTopics(lang, snap, cat, aliases))}}
		return p, nil
	case c.Status == PendingTerms:
		return Plan{}, nil // kept; the prompt is waiting for an answer
	case kw.Kind == KeywordStop:
		p.Evidence.Source = SourceKeyword
		var named []string
		if kw.Category != "" {
			named = []string{kw.Category}
		}
		return s.decideStop(snap, Act{Kind: ActOptOut, Categories: named}, lang, cat, p)
	case m.ButtonID == PayloadStopMarketing:
		p.Evidence = Evidence{Source: SourceWhatsAppReply, MessageID: m.ID, MessageText: m.Text}
		return s.decideStop(snap, Act{Kind: ActOptOut, Categories: cat.marketing()}, lang, cat, p)
	case kw.Kind == KeywordStart && somethingToRestore(snap):
		// A bare "yes" is often an answer to the business's chatbot: only
		// when something is left to restore does it mean opting in again.
		p.Replies = []Reply{{"terms_prompt", s.termsPrompt(lang, cat.offered(lang, snap.EntryCategories))}}
		return p, nil
	case m.ButtonID == PayloadConfirm:
		t, err := Decide(snap.Consents, Act{Kind: ActConfirm})
		if err != nil || len(t) == 0 {
			return Plan{}, err
		}
		p.Transitions = t
		p.Evidence = Evidence{Source: SourceWhatsAppReply, MessageID: m.ID, MessageText: m.Text, Detail: map[string]string{"button": m.ButtonID}}
		p.Replies = []Reply{{"confirmation", s.text(lang, "mo.confirmed", cat.names(lang, Changed(t)), s.cfg.BusinessName)}}
		return p, nil
	}
	return s.decideForward(snap, m, lang, p)
}

// somethingToRestore reports whether the contact lacks or refused a category
// its entry point offers.
func somethingToRestore(snap Snapshot) bool {
	for _, slug := range snap.EntryCategories {
		if !slices.ContainsFunc(snap.Consents, func(c Consent) bool {
			return c.Category == slug && (c.State == OptedIn || c.State == Pending)
		}) {
			return true
		}
	}
	return false
}

// decideStop opts out of what act names. A full STOP cancels what is still
// queued: after it, nothing but its answer is sent. When nothing was left to
// stop, the answer says so.
func (s *Service) decideStop(snap Snapshot, act Act, lang string, cat catalog, p Plan) (Plan, error) {
	t, err := Decide(snap.Consents, act)
	if err != nil {
		return Plan{}, err
	}
	p.Transitions = t
	p.CancelQueued = act.Kind == ActOptOut && len(act.Categories) == 0
	switch {
	case len(t) == 0:
		p.Replies = []Reply{{"nothing_changed", s.text(lang, "mo.stop.nothing", s.cfg.BusinessName, LinkPlaceholder)}}
	case len(act.Categories) == 0:
		p.Replies = []Reply{{"stop_confirmation", s.text(lang, "mo.stop.all", s.cfg.BusinessName, LinkPlaceholder)}}
	case len(act.Categories) == 1:
		p.Replies = []Reply{{"stop_confirmation", s.text(lang, "mo.stop.category", cat.names(lang, Changed(t)), LinkPlaceholder)}}
	default:
		p.Replies = []Reply{{"stop_confirmation", s.text(lang, "mo.stop.marketing")}}
	}
	return p, nil
}

// decideForward hands an ordinary message to the business's system, or
// without one answers opted-in people once per day that this number is
// not yet fully operational.
func (s *Service) decideForward(snap Snapshot, m InboundMessage, lang string, p Plan) (Plan, error) {
	c := snap.Contact
	if s.cfg.Forwarding {
		body, err := json.Marshal(ForwardBody{Type: PushTypeMessage, Contact: &ForwardContact{ID: c.ID, Phone: c.Phone, WaID: c.WaID},
			Message: pushMessage(m)})
		if err != nil {
			return Plan{}, err
		}
		return Plan{At: p.At, Forward: body}, nil
	}
	if !slices.ContainsFunc(snap.Consents, func(cs Consent) bool { return cs.State == OptedIn }) {
		return Plan{}, nil
	}
	if !snap.LastFallbackAt.IsZero() && p.At.Sub(snap.LastFallbackAt) < 24*time.Hour {
		return Plan{}, nil
	}
	return Plan{At: p.At, Lang: lang, Replies: []Reply{{"fallback", s.fallbackMessage(lang)}}, Fallback: true}, nil
}

func (s *Service) handleStatus(ctx context.Context, st StatusUpdate) error {
	now := s.clock.Now()
	contactID, err := s.store.ApplyStatus(ctx, st, now)
	if errors.Is(err, ErrNotFound) {
		// A message optin did not send: another of the business's systems
		// sent it through the same number. What WhatsApp says about the
		// person holds all the same. Only a failure says something, and
		// only forwarding passes the rest on.
		if !s.cfg.Forwarding && st.Status != StatusFailed {
			return nil
		}
		if erased, err := s.statusOfErased(ctx, st); err != nil || erased { // push.go
			return err
		}
		if s.cfg.Forwarding {
			if err := s.forward(ctx, 0, ForwardBody{Type: PushTypeStatus, Status: pushStatus(st)}); err != nil {
				return err
			}
		}
		if st.Status != StatusFailed || st.RecipientID == "" {
			return nil
		}
		c, err := s.store.ContactByPhone(ctx, "+"+strings.TrimPrefix(st.RecipientID, "+"))
		if errors.Is(err, ErrNotFound) {
			return s.alertErrors(ctx, st, now)
		}
		if err != nil {
			return err
		}
		contactID = c.ID
	} else if err != nil {
		return err
	}
	if st.Status != StatusFailed {
		return nil
	}
	for _, e := range st.Errors {
		switch ClassifyCode(e.Code) {
		case ErrUndeliverable:
			if err := s.store.MarkUndeliverable(ctx, contactID, e.Code, now); err != nil {
				return err
			}
		case ErrMarketingStopped:
			if err := s.providerStop(ctx, contactID, Evidence{Source: SourceProvider, MessageID: st.MessageID,
				Detail: map[string]string{"error": fmt.Sprint(e.Code)}}); err != nil {
				return err
			}
		case ErrWindowClosed:
			if err := s.store.CloseWindow(ctx, contactID, now); err != nil {
				return err
			}
		}
	}
	return s.alertErrors(ctx, st, now)
}

// alertErrors raises an alert for each template or account error of a
// failed status, as for the same errors at send time.
func (s *Service) alertErrors(ctx context.Context, st StatusUpdate, now time.Time) error {
	for _, e := range st.Errors {
		switch ClassifyCode(e.Code) {
		case ErrTemplate:
			if err := s.store.AddAlert(ctx, Alert{Kind: "template", Code: e.Code, Title: e.Title, At: now}); err != nil {
				return err
			}
		case ErrAccount:
			if err := s.store.AddAlert(ctx, Alert{Kind: "account", Code: e.Code, Title: e.Title, At: now}); err != nil {
				return err
			}
		}
	}
	return nil
}

// handlePreference applies a marketing stop or resume the person chose in
// WhatsApp. Resume gives back exactly what provider stops took away.
func (s *Service) handlePreference(ctx context.Context, p PreferenceUpdate) error {
	if p.Category != "" && p.Category != "marketing_messages" {
		return nil
	}
	c, err := s.store.ContactByPhone(ctx, "+"+strings.TrimPrefix(p.WaID, "+"))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ev := Evidence{Source: SourceProvider, Detail: map[string]string{"user_preferences": p.Value}}
	switch p.Value {
	case "stop":
		return s.providerStop(ctx, c.ID, ev)
	case "resume":
		return s.decideAndApply(ctx, c.ID, Act{Kind: ActProviderResume}, ev)
	}
	return nil
}

// providerStop applies a marketing stop WhatsApp reported: no message goes
// to the person, who stopped it in WhatsApp itself.
func (s *Service) providerStop(ctx context.Context, contactID int64, ev Evidence) error {
	cat, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	return s.decideAndApply(ctx, contactID, Act{Kind: ActProviderStop, Categories: cat.marketing()}, ev)
}

// decideAndApply records the transitions of act on the contact, with ev,
// and nothing else.
func (s *Service) decideAndApply(ctx context.Context, contactID int64, act Act, ev Evidence) error {
	now := s.clock.Now()
	_, err := s.store.Apply(ctx, contactID, func(snap Snapshot) (Plan, error) {
		t, err := Decide(snap.Consents, act)
		if err != nil {
			return Plan{}, err
		}
		return Plan{At: now, Lang: s.lang(snap.Contact.Language), Evidence: ev, Transitions: t}, nil
	})
	return err
}

// ExpireTerms erases contacts whose terms prompt went unanswered for
// TermsTTL, exactly as a refusal does, and returns how many.
func (s *Service) ExpireTerms(ctx context.Context) (int, error) {
	expired, err := s.store.ExpiredTerms(ctx, s.clock.Now(), 500)
	if err != nil {
		return 0, err
	}
	now := s.clock.Now()
	for i, c := range expired {
		p := Plan{At: now, Erase: &Tombstone{PhoneHash: s.PhoneHash(c.Phone), Reason: "terms_expired", At: now,
			Event: EventTermsRefused, Source: SourceProvider}}
		// The farewell is free-form text: it can go only while the window
		// the person opened by writing is still open (a TTL under 24 hours).
		if c.WindowOpenUntil.After(now) {
			bye := s.text(s.lang(c.Language), "mo.terms.expired", s.cfg.BusinessName)
			p.Farewell = &bye
		}
		if _, err := s.store.Apply(ctx, c.ID, func(Snapshot) (Plan, error) { return p, nil }); err != nil {
			return i, err
		}
		if p.Farewell != nil && s.notify != nil {
			s.notify()
		}
	}
	return len(expired), nil
}

// erase deletes a contact and everything it wrote, leaving a tombstone.
func (s *Service) erase(ctx context.Context, c Contact, reason string, ev EventType, source Source, actor string) error {
	return s.store.EraseContact(ctx, c.ID, Tombstone{PhoneHash: s.PhoneHash(c.Phone), Reason: reason, Actor: actor,
		At: s.clock.Now(), Event: ev, Source: source})
}

// PhoneHash is the salted hash kept in place of an erased number: with the
// number in hand one can prove it was erased; without it the hash tells
// nothing.
func (s *Service) PhoneHash(e164 string) string {
	m := hmac.New(sha256.New, s.cfg.TombstoneKey)
	m.Write([]byte(e164))
	return hex.EncodeToString(m.Sum(nil))
}

// ForwardBody is what optin POSTs to OPTIN_FORWARD_URL for a message or a
// status it did not consume (push.go has the other push events).
type ForwardBody struct {
	Type    string          `json:"type"` // "message" or "status"
	Contact *ForwardContact `json:"contact,omitempty"`
	Message *PushMessage    `json:"message,omitempty"`
	Status  *PushStatus     `json:"status,omitempty"`
}

// ForwardContact identifies the person in a forwarded call.
type ForwardContact struct {
	ID    int64  `json:"id"`
	Phone string `json:"phone"`
	WaID  string `json:"wa_id"`
}

func (s *Service) forward(ctx context.Context, contactID int64, b ForwardBody) error {
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	err = s.store.EnqueueForward(ctx, contactID, body, s.clock.Now())
	if err == nil && s.forwardWake != nil {
		s.forwardWake()
	}
	return err
}

func (s *Service) text(lang, key string, args ...any) Message {
	return Message{Kind: KindText, Text: s.t(lang, key, args...)}
}

func (s *Service) lang(l string) string {
	if l != "" {
		return l
	}
	if wl := s.settings().WelcomeLanguage; wl != "" {
		return primaryTag(wl) // a template code: pt_BR → pt
	}
	return "en"
}

func (s *Service) termsTTL() time.Duration {
	if s.cfg.TermsTTL > 0 {
		return s.cfg.TermsTTL
	}
	return 24 * time.Hour
}

func (s *Service) termsURL(lang string) string {
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/terms?lang=" + lang
}

func (s *Service) helpContact() string {
	if hc := s.settings().HelpContact; hc != "" {
		return hc
	}
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/optin"
}

// categoryAliases maps each category to the words that name it in every
// language, for "STOP <category>".
func (s *Service) categoryAliases(ctx context.Context) (map[string][]string, error) {
	if v, ok := s.categories.Load("aliases"); ok {
		return v.(map[string][]string), nil
	}
	out := map[string][]string{}
	for _, lang := range []string{"en", "es", "pt", "de"} {
		cats, err := s.store.Categories(ctx, lang)
		if err != nil {
			return nil, err
		}
		for _, c := range cats {
			out[c.Slug] = append(out[c.Slug], c.Name)
			if !slices.Contains(out[c.Slug], c.Slug) {
				out[c.Slug] = append(out[c.Slug], c.Slug)
			}
		}
	}
	s.categories.Store("aliases", out)
	return out, nil
}

// MarketingStopped applies a provider's 131050 answer to a send: the person
// stopped marketing messages inside WhatsApp.
func (s *Service) MarketingStopped(ctx context.Context, contactID int64, code int) error {
	return s.providerStop(ctx, contactID, Evidence{Source: SourceProvider, Detail: map[string]string{"error": fmt.Sprint(code)}})
}
