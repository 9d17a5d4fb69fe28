package consent

import (
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

// Change is a change of one contact's consents with its evidence, applied
// in one transaction. Only categories whose state differs from their target
// get an event.
type Change struct {
	ContactID    int64
	At           time.Time
	Lang         string
	Evidence     Evidence
	Wording      *Wording  // stored and referenced by the events when set
	ContactEvent EventType // a contact-level event (terms_accepted), when set
	Activate     bool      // pending_terms → active
	Type         EventType // the type of the per-category events
	Set          map[string]State
	CancelQueued bool // cancel the contact's queued messages (a full STOP)
	Replies      []Message
	ReplyPurpose string
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

// MOStore keeps what people write and what the MO flow decides.
type MOStore interface {
	RecordInbound(ctx context.Context, r InboundRecord) (InboundOutcome, error)
	MarkHandled(ctx context.Context, providerID string) error
	ContactByID(ctx context.Context, id int64) (Contact, error)
	ApplyChange(ctx context.Context, ch Change) ([]string, error)
	Enqueue(ctx context.Context, contactID int64, purpose string, m Message, at time.Time) error
	EnqueueFallback(ctx context.Context, contactID int64, m Message, at time.Time) (bool, error)
	EraseContact(ctx context.Context, contactID int64, t Tombstone) error
	ExpiredTerms(ctx context.Context, now time.Time, limit int) ([]Contact, error)
	ChangeNumber(ctx context.Context, contactID int64, phone, waID string, ev Evidence, at time.Time) error
	EnqueueForward(ctx context.Context, contactID int64, body []byte, at time.Time) error
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
	return s.applyAccountUpdates(ctx, in.Account)
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
	rec, err := s.store.RecordInbound(ctx, InboundRecord{Message: m, Phone: phone, Lang: s.lang(""),
		EntryPoint: entry, EntryValid: valid, EntryVia: via, TermsExpire: now.Add(s.termsTTL()), At: now})
	if err != nil {
		return err
	}
	if rec.Handled {
		return nil
	}
	c := rec.Contact
	if err := s.route(ctx, c, m, kw, rec.Created, now); err != nil {
		return err
	}
	return s.store.MarkHandled(ctx, m.ID)
}

// route decides what a new message means for its contact.
func (s *Service) route(ctx context.Context, c Contact, m InboundMessage, kw Keyword, created bool, now time.Time) error {
	lang := s.lang(c.Language)
	ev := Evidence{Source: SourceWhatsAppReply, MessageID: m.ID, MessageText: m.Text, EntryPoint: c.EntryPoint}

	if m.Type == InSystem && m.NewWaID != "" {
		return s.changeNumber(ctx, c, m, now)
	}
	if created {
		if err := s.countEntry(ctx, c.EntryPoint, "conversations"); err != nil {
			return err
		}
		return s.sendTermsPrompt(ctx, c, lang, now)
	}
	switch {
	case m.ButtonID == ButtonAcceptTerms:
		return s.acceptTerms(ctx, c, m, lang, now)
	case m.ButtonID == ButtonDeclineTerms || (c.Status == PendingTerms && kw.Kind == KeywordStop && kw.Category == ""):
		if c.Status != PendingTerms {
			return nil // an existing subscriber declining a new prompt keeps what they have
		}
		return s.erase(ctx, c, "terms_refused", EventTermsRefused, SourceWhatsAppReply, "")
	case kw.Kind == KeywordHelp:
		link, err := s.PreferenceLink(ctx, c.ID)
		if err != nil {
			return err
		}
		return s.store.Enqueue(ctx, c.ID, "help", s.helpMessage(lang, link), now)
	case c.Status == PendingTerms:
		return nil // kept; the prompt is waiting for an answer
	case kw.Kind == KeywordStop:
		return s.stop(ctx, c, kw.Category, ev, lang, now)
	case m.ButtonID == PayloadStopMarketing:
		return s.stopMarketing(ctx, c, Evidence{Source: SourceWhatsAppReply, MessageID: m.ID, MessageText: m.Text}, lang, true, now)
	case kw.Kind == KeywordStart:
		// A bare "yes" is often an answer to the business's chatbot: only
		// when something is left to restore does it mean opting in again.
		restore, err := s.somethingToRestore(ctx, c)
		if err != nil {
			return err
		}
		if restore {
			return s.sendTermsPrompt(ctx, c, lang, now)
		}
	case m.ButtonID == PayloadConfirm:
		return s.confirm(ctx, c, m, lang, now)
	}
	return s.forwardOrFallback(ctx, c, m, lang, now)
}

// somethingToRestore reports whether the contact lacks or refused a category
// its entry point offers.
func (s *Service) somethingToRestore(ctx context.Context, c Contact) (bool, error) {
	consents, err := s.store.Consents(ctx, c.ID)
	if err != nil {
		return false, err
	}
	have := map[string]bool{}
	for _, cs := range consents {
		have[cs.Category] = cs.State == OptedIn || cs.State == Pending
	}
	for _, slug := range s.entryCategories(ctx, c.EntryPoint) {
		if !have[slug] {
			return true, nil
		}
	}
	return false, nil
}

// sendTermsPrompt asks the person to accept the terms with two buttons.
func (s *Service) sendTermsPrompt(ctx context.Context, c Contact, lang string, now time.Time) error {
	return s.store.Enqueue(ctx, c.ID, "terms_prompt", s.termsPrompt(lang), now)
}

func (s *Service) termsPrompt(lang string) Message {
	return Message{Kind: KindInteractive, Interactive: &Interactive{
		Body:   s.t(lang, "mo.terms.prompt", s.cfg.BusinessName, s.termsURL(lang)),
		Footer: s.t(lang, "mo.terms.footer"),
		Buttons: []Button{
			{ID: ButtonAcceptTerms, Title: s.t(lang, "mo.terms.accept")},
			{ID: ButtonDeclineTerms, Title: s.t(lang, "mo.terms.decline")},
		},
	}}
}

// acceptTerms records the acceptance and opts the person in to the entry
// point's categories, with the prompt they answered as the wording.
func (s *Service) acceptTerms(ctx context.Context, c Contact, m InboundMessage, lang string, now time.Time) error {
	cats := s.entryCategories(ctx, c.EntryPoint)
	source := SourceWhatsAppReply
	if c.EntryValid {
		source = SourceLink
		if c.EntryVia == SourceQR {
			source = SourceQR
		}
	}
	prompt := s.termsPrompt(lang)
	w := NewWording("terms", lang, prompt.Interactive.Body)
	set := map[string]State{}
	for _, slug := range cats {
		set[slug] = OptedIn
	}
	names := s.categoryNames(ctx, lang, cats)
	_, err := s.store.ApplyChange(ctx, Change{
		ContactID: c.ID, At: now, Lang: lang, Wording: &w,
		Evidence: Evidence{Source: source, MessageID: m.ID, MessageText: m.Text, EntryPoint: c.EntryPoint,
			Detail: map[string]string{"button": m.ButtonID, "entry_code_valid": fmt.Sprint(c.EntryValid), "replied_to": m.ContextID}},
		ContactEvent: EventTermsAccepted, Activate: true, Type: EventOptIn, Set: set,
		Replies:      []Message{s.text(lang, "mo.terms.accepted", names, s.cfg.BusinessName)},
		ReplyPurpose: "terms_accepted",
	})
	if err != nil {
		return err
	}
	if c.Status == PendingTerms {
		return s.countEntry(ctx, c.EntryPoint, "accepted")
	}
	return nil
}

// stop opts out of one category or of everything. A full STOP cancels what
// is still queued: after it, nothing but its confirmation is sent.
func (s *Service) stop(ctx context.Context, c Contact, category string, ev Evidence, lang string, now time.Time) error {
	ev.Source = SourceKeyword
	set := map[string]State{}
	if category != "" {
		set[category] = OptedOut
	} else {
		cats, err := s.Categories(ctx, lang)
		if err != nil {
			return err
		}
		for _, cat := range cats {
			set[cat.Slug] = OptedOut
		}
	}
	link, err := s.PreferenceLink(ctx, c.ID)
	if err != nil {
		return err
	}
	reply := s.text(lang, "mo.stop.all", s.cfg.BusinessName, link)
	if category != "" {
		reply = s.text(lang, "mo.stop.category", s.categoryNames(ctx, lang, []string{category}), link)
	}
	_, err = s.store.ApplyChange(ctx, Change{ContactID: c.ID, At: now, Lang: lang, Evidence: ev, Type: EventOptOut,
		Set: set, CancelQueued: category == "", Replies: []Message{reply}, ReplyPurpose: "stop_confirmation"})
	return err
}

// stopMarketing opts out of the marketing categories: from the template's
// "Stop promotions" button (with a confirmation) or from WhatsApp itself
// (user_preferences, error 131050: no message).
func (s *Service) stopMarketing(ctx context.Context, c Contact, ev Evidence, lang string, reply bool, now time.Time) error {
	cats, err := s.Categories(ctx, lang)
	if err != nil {
		return err
	}
	set := map[string]State{}
	for _, cat := range cats {
		if cat.Marketing {
			set[cat.Slug] = OptedOut
		}
	}
	ch := Change{ContactID: c.ID, At: now, Lang: lang, Evidence: ev, Type: EventOptOut, Set: set}
	if reply {
		ch.Replies, ch.ReplyPurpose = []Message{s.text(lang, "mo.stop.marketing")}, "stop_confirmation"
	}
	_, err = s.store.ApplyChange(ctx, ch)
	return err
}

// confirm turns pending consents (double opt-in) into opt-ins.
func (s *Service) confirm(ctx context.Context, c Contact, m InboundMessage, lang string, now time.Time) error {
	consents, err := s.store.Consents(ctx, c.ID)
	if err != nil {
		return err
	}
	set := map[string]State{}
	var slugs []string
	for _, cs := range consents {
		if cs.State == Pending {
			set[cs.Category] = OptedIn
			slugs = append(slugs, cs.Category)
		}
	}
	if len(set) == 0 {
		return nil
	}
	_, err = s.store.ApplyChange(ctx, Change{ContactID: c.ID, At: now, Lang: lang, Type: EventConfirm, Set: set,
		Evidence: Evidence{Source: SourceWhatsAppReply, MessageID: m.ID, MessageText: m.Text, Detail: map[string]string{"button": m.ButtonID}},
		Replies:  []Message{s.text(lang, "mo.confirmed", s.categoryNames(ctx, lang, slugs), s.cfg.BusinessName)}, ReplyPurpose: "confirmation"})
	return err
}

// forwardOrFallback hands an ordinary message to the business's system, or
// without one answers opted-in people once per window that this number is
// not yet fully operational.
func (s *Service) forwardOrFallback(ctx context.Context, c Contact, m InboundMessage, lang string, now time.Time) error {
	if s.cfg.Forwarding {
		return s.forward(ctx, c.ID, ForwardBody{Type: "message", Contact: &ForwardContact{Phone: c.Phone, WaID: c.WaID}, Message: &m})
	}
	consents, err := s.store.Consents(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, cs := range consents {
		if cs.State == OptedIn {
			_, err := s.store.EnqueueFallback(ctx, c.ID, s.fallbackMessage(lang), now)
			return err
		}
	}
	return nil
}

// changeNumber follows a person to their new number (system message
// user_changed_number), keeping their consents, with an event.
func (s *Service) changeNumber(ctx context.Context, c Contact, m InboundMessage, now time.Time) error {
	phone, err := ParsePhone("+"+m.NewWaID, "")
	if err != nil {
		phone = "+" + m.NewWaID
	}
	err = s.store.ChangeNumber(ctx, c.ID, phone, m.NewWaID, Evidence{Source: SourceProvider, MessageID: m.ID}, now)
	if errors.Is(err, ErrConflict) {
		return nil // the new number is already a contact of its own: leave both as they are
	}
	return err
}

func (s *Service) handleStatus(ctx context.Context, st StatusUpdate) error {
	now := s.clock.Now()
	contactID, err := s.store.ApplyStatus(ctx, st, now)
	if errors.Is(err, ErrNotFound) {
		if s.cfg.Forwarding {
			return s.forward(ctx, 0, ForwardBody{Type: "status", Status: &st})
		}
		return nil
	}
	if err != nil || st.Status != StatusFailed {
		return err
	}
	for _, e := range st.Errors {
		switch ClassifyCode(e.Code) {
		case ErrUndeliverable:
			return s.store.MarkUndeliverable(ctx, contactID, e.Code, now)
		case ErrMarketingStopped:
			c, err := s.store.ContactByID(ctx, contactID)
			if err != nil {
				return err
			}
			return s.stopMarketing(ctx, c, Evidence{Source: SourceProvider, MessageID: st.MessageID,
				Detail: map[string]string{"error": fmt.Sprint(e.Code)}}, s.lang(c.Language), false, now)
		}
	}
	return nil
}

// handlePreference applies a marketing stop or resume the person chose in
// WhatsApp. Resume restores only what a provider stop had taken away.
func (s *Service) handlePreference(ctx context.Context, p PreferenceUpdate) error {
	if p.Category != "" && p.Category != "marketing_messages" {
		return nil
	}
	now := s.clock.Now()
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
		return s.stopMarketing(ctx, c, ev, s.lang(c.Language), false, now)
	case "resume":
		consents, err := s.store.Consents(ctx, c.ID)
		if err != nil {
			return err
		}
		set := map[string]State{}
		for _, cs := range consents {
			if cs.State == OptedOut && cs.Source == SourceProvider {
				set[cs.Category] = OptedIn
			}
		}
		if len(set) == 0 {
			return nil
		}
		_, err = s.store.ApplyChange(ctx, Change{ContactID: c.ID, At: now, Lang: s.lang(c.Language), Evidence: ev,
			Type: EventOptIn, Set: set})
		return err
	}
	return nil
}

// ExpireTerms erases contacts whose terms prompt went unanswered for
// TermsTTL, exactly as a refusal does, and returns how many.
func (s *Service) ExpireTerms(ctx context.Context) (int, error) {
	expired, err := s.store.ExpiredTerms(ctx, s.clock.Now(), 500)
	if err != nil {
		return 0, err
	}
	for i, c := range expired {
		if err := s.erase(ctx, c, "terms_expired", EventTermsRefused, SourceProvider, ""); err != nil {
			return i, err
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

// ForwardBody is what optin POSTs to OPTIN_FORWARD_URL.
type ForwardBody struct {
	Type    string          `json:"type"` // "message" or "status"
	Contact *ForwardContact `json:"contact,omitempty"`
	Message *InboundMessage `json:"message,omitempty"`
	Status  *StatusUpdate   `json:"status,omitempty"`
}

// ForwardContact identifies the person in a forwarded call.
type ForwardContact struct {
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
		return wl
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

// entryCategories are the categories an entry point offers; all categories
// when the entry point is unknown.
func (s *Service) entryCategories(ctx context.Context, code string) []string {
	if ep, err := s.store.EntryPointByCode(ctx, code); err == nil && len(ep.Categories) > 0 {
		return ep.Categories
	}
	cats, _ := s.Categories(ctx, "en")
	var out []string
	for _, c := range cats {
		out = append(out, c.Slug)
	}
	return out
}

func (s *Service) countEntry(ctx context.Context, code, what string) error {
	if code == "" {
		return nil
	}
	err := s.store.CountEntry(ctx, code, what)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// categoryNames lists the names of slugs in lang, for messages.
func (s *Service) categoryNames(ctx context.Context, lang string, slugs []string) string {
	cats, _ := s.Categories(ctx, lang)
	want := map[string]bool{}
	for _, sl := range slugs {
		want[sl] = true
	}
	var names []string
	for _, c := range cats {
		if want[c.Slug] {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
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
	c, err := s.store.ContactByID(ctx, contactID)
	if err != nil {
		return err
	}
	return s.stopMarketing(ctx, c, Evidence{Source: SourceProvider, Detail: map[string]string{"error": fmt.Sprint(code)}},
		s.lang(c.Language), false, s.clock.Now())
}
