package consent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Translator returns the text for key in lang, formatted with args.
type Translator func(lang, key string, args ...any) string

// Config is what the Service needs to know about the business.
type Config struct {
	BusinessName      string
	DefaultRegion     string
	Mode              Mode
	WelcomeTemplate   string
	WelcomeLanguage   string
	TemplateNamespace string
	// WelcomeCooldown is how long after a welcome message a further opt-in of
	// the same number does not send another one.
	WelcomeCooldown time.Duration
	// BusinessNumber is the business's WhatsApp number (E.164), the target
	// of the wa.me links of entry points.
	BusinessNumber string
	// EntryKey signs entry point codes in start texts, so that a forged or
	// edited code is detected; an empty key makes signatures forgeable.
	EntryKey []byte
	// BaseURL is optin's public URL, for the terms link in messages.
	BaseURL string
	// TermsTTL is how long an unanswered terms prompt lives.
	TermsTTL time.Duration
	// HelpContact is the human escalation path HELP answers with (a phone
	// number, an e-mail address or a web page).
	HelpContact string
	// Forwarding is set when messages not consumed by the consent flows go
	// to the business's own system; without it opted-in people get the
	// fallback reply.
	Forwarding bool
	// TombstoneKey salts the hash of an erased number.
	TombstoneKey []byte

	// SendRate, DailyCap and the receipt's controller fields are the
	// first values of the Settings of the same names (settings.go).
	SendRate          float64
	DailyCap          int
	Jurisdiction      string
	ControllerContact string
	ControllerAddress string
	ControllerCountry string
	ControllerEmail   string
	// NamespaceRequired refuses an empty template namespace (provider v1).
	NamespaceRequired bool
	// RegretThreshold is the regret rate (percent) above which an entry
	// point raises an alert; 0 is DefaultRegretThreshold (regret.go).
	RegretThreshold float64
	// ContactCard sends the business's contact card once per contact, after
	// the terms are accepted or on HELP; ReadReceipts marks the messages
	// the consent flows answer as read (card.go).
	ContactCard  bool
	ReadReceipts bool

	// WelcomeLanguages are the further languages the business has the
	// welcome template in (OPTIN_WELCOME_LANGUAGES); WelcomeLanguage is
	// always one of them.
	WelcomeLanguages []string
}

// Service holds optin's use cases.
type Service struct {
	store       Store
	clock       Clock
	t           Translator
	cfg         Config
	notify      func() // wakes the outbox dispatcher; may be nil
	inboxWake   func() // wakes the inbox worker; may be nil
	forwardWake func() // wakes the forwarder; may be nil

	categories sync.Map // lang → []Category

	// The settings an admin can change while optin runs: the environment's
	// values, and the snapshot in force (settings.go).
	defaults Settings
	current  atomic.Pointer[Settings]
	saveMu   sync.Mutex

	// quality is the number's standing with WhatsApp (quality.go).
	quality atomic.Pointer[Quality]

	// importing holds the ids of the CSV imports this instance runs
	// (csv_import.go); changes is the change version last seen (changes.go).
	importing sync.Map
	changes   atomic.Int64
}

// NewService returns a Service over store. t renders the texts sent to people.
func NewService(store Store, clock Clock, t Translator, cfg Config) *Service {
	if cfg.WelcomeCooldown == 0 {
		cfg.WelcomeCooldown = 24 * time.Hour
	}
	if cfg.Mode == "" {
		cfg.Mode = Single
	}
	if cfg.SendRate <= 0 {
		cfg.SendRate = 20
	}
	s := &Service{store: store, clock: clock, t: t, cfg: cfg, defaults: initialSettings(cfg)}
	s.current.Store(&s.defaults)
	return s
}

// OnEnqueue registers f to be called after a transaction put a message in
// the outbox, so that the dispatcher need not wait for its next poll.
func (s *Service) OnEnqueue(f func()) { s.notify = f }

// Mode reports the opt-in mode in force.
func (s *Service) Mode() Mode { return s.settings().Mode }

// Categories lists the categories with their texts in lang. They change
// rarely and are read on every form and check, so they are cached until
// ForgetCategories.
func (s *Service) Categories(ctx context.Context, lang string) ([]Category, error) {
	if v, ok := s.categories.Load(lang); ok {
		return v.([]Category), nil
	}
	cats, err := s.store.Categories(ctx, lang)
	if err != nil {
		return nil, err
	}
	s.categories.Store(lang, cats)
	return cats, nil
}

// ForgetCategories drops the cached categories after they changed.
func (s *Service) ForgetCategories() { s.categories.Clear() }

// OptInRequest is a person's opt-in as submitted.
type OptInRequest struct {
	Phone      string // as typed
	Region     string // country chosen beside the field; DefaultRegion when empty
	Categories []string
	Lang       string
	// Wording is the exact consent text the person was shown.
	Wording  string
	Evidence Evidence
}

// OptIn validates and records an opt-in: one event per category whose state
// changes, and the welcome message in the outbox when due. Nothing is stored
// when the request is invalid.
func (s *Service) OptIn(ctx context.Context, r OptInRequest) (OptInOutcome, error) {
	verr := &ValidationError{}
	region := r.Region
	if region == "" {
		region = s.cfg.DefaultRegion
	} else if !KnownRegion(region) {
		verr.Add("country", "country.unknown")
		region = s.cfg.DefaultRegion
	}
	phone, err := ParsePhone(r.Phone, region)
	if err != nil {
		ve, ok := err.(*ValidationError)
		if !ok {
			return OptInOutcome{}, err
		}
		for f, k := range ve.Fields {
			verr.Add(f, k)
		}
	}
	cats, err := s.Categories(ctx, r.Lang)
	if err != nil {
		return OptInOutcome{}, err
	}
	chosen, _ := pickCategories(cats, r.Categories, verr)
	if strings.TrimSpace(r.Wording) == "" {
		verr.Add("wording", "wording.missing")
	}
	if err := verr.OrNil(); err != nil {
		return OptInOutcome{}, err
	}

	now := s.clock.Now()
	target := OptedIn
	if s.settings().Mode == Double {
		target = Pending
	}
	ev := r.Evidence
	ev.IP = TruncateIP(ev.IP)
	wording := NewWording("consent", r.Lang, r.Wording)
	welcome, err := s.welcome(ctx, r.Lang, chosen)
	if err != nil {
		return OptInOutcome{}, err
	}
	snap, plan, err := s.store.ApplyToNumber(ctx, phone, r.Lang, now, func(snap Snapshot) (Plan, error) {
		t, err := Decide(snap.Consents, Act{Kind: ActOptIn, Categories: chosen, Target: target})
		if err != nil || len(t) == 0 {
			return Plan{}, err
		}
		p := Plan{At: now, Lang: r.Lang, Evidence: ev, Wording: &wording, Transitions: t, Activate: true, Language: r.Lang}
		// One welcome per cooldown: a repeated submission records what
		// changed and sends nothing more.
		if snap.LastWelcomeAt.IsZero() || now.Sub(snap.LastWelcomeAt) >= s.cfg.WelcomeCooldown {
			p.Replies, p.Welcome = []Reply{{"welcome", *welcome}}, true
		}
		return p, nil
	})
	if err != nil {
		return OptInOutcome{}, err
	}
	s.planned(plan)
	return OptInOutcome{Contact: snap.Contact, Changed: Changed(plan.Transitions), WelcomeQueued: plan.Welcome}, nil
}

// pickCategories checks the requested slugs against the known categories,
// dropping duplicates, and returns the slugs and names in catalog order.
func pickCategories(all []Category, requested []string, verr *ValidationError) (slugs, names []string) {
	want := map[string]bool{}
	for _, r := range requested {
		want[strings.TrimSpace(r)] = true
	}
	if len(want) == 0 {
		verr.Add("category", "category.required")
		return nil, nil
	}
	for _, c := range all {
		if want[c.Slug] {
			slugs = append(slugs, c.Slug)
			names = append(names, c.Name)
			delete(want, c.Slug)
		}
	}
	if len(want) > 0 {
		verr.Add("category", "category.unknown")
	}
	return slugs, names
}

// welcome builds the welcome template for a person who used the form in
// lang: in lang when the business has the template in it
// (Settings.WelcomeLanguages), else entirely in the default language —
// template language, category names and preview alike, never a mix.
func (s *Service) welcome(ctx context.Context, lang string, slugs []string) (*Message, error) {
	st := s.settings()
	tplLang, textLang := st.WelcomeLanguageFor(lang)
	cats, err := s.Categories(ctx, textLang)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range cats {
		if slices.Contains(slugs, c.Slug) {
			names = append(names, c.Name)
		}
	}
	return s.welcomeMessage(st, tplLang, textLang, names), nil
}

// welcomeMessage builds the welcome template in the template language
// tplLang, its texts in textLang. Its body parameters are {{1}} the business
// name and {{2}} the chosen categories; in double mode quick-reply button 0
// carries the confirmation payload.
func (s *Service) welcomeMessage(st *Settings, tplLang, lang string, categoryNames []string) *Message {
	list := joinParam(categoryNames)
	tpl := &Template{
		Name:       st.WelcomeTemplate,
		Language:   tplLang,
		Namespace:  st.TemplateNamespace,
		BodyParams: []string{s.cfg.BusinessName, list},
	}
	// The last button opens the person's preference center: a URL button
	// whose approved URL ends in /p/{{1}}; the dispatcher fills the token.
	manage := TemplateButton{SubType: "url", Text: LinkPlaceholder, Title: s.t(lang, "welcome.button.manage")}
	if st.Mode == Double {
		tpl.Preview = s.t(lang, "welcome.body.double", list, s.cfg.BusinessName) + "\n\n" + s.t(lang, "welcome.manage", LinkPlaceholder)
		tpl.Buttons = []TemplateButton{
			{Index: 0, SubType: "quick_reply", Payload: PayloadConfirm, Title: s.t(lang, "welcome.button.confirm")},
			{Index: 1, SubType: "quick_reply", Payload: PayloadStopMarketing, Title: s.t(lang, "welcome.button.stop")},
		}
		manage.Index = 2
	} else {
		tpl.Preview = s.t(lang, "welcome.body", list, s.cfg.BusinessName) + "\n\n" + s.t(lang, "welcome.manage", LinkPlaceholder)
		tpl.Buttons = []TemplateButton{
			{Index: 0, SubType: "quick_reply", Payload: PayloadStopMarketing, Title: s.t(lang, "welcome.button.stop")},
		}
		manage.Index = 1
	}
	tpl.Buttons = append(tpl.Buttons, manage)
	return &Message{Kind: KindTemplate, Template: tpl}
}

// joinParam lists names for a template parameter, cut with "…" to
// WhatsApp's 1,024 characters: a welcome naming many long categories is
// still delivered.
func joinParam(names []string) string {
	list := strings.Join(names, ", ")
	if runes(list) <= MaxTemplateParamRunes {
		return list
	}
	r := []rune(list)[:MaxTemplateParamRunes-1]
	return strings.TrimRight(string(r), ", ") + "…"
}

// Payloads of the welcome template's quick-reply buttons.
const (
	PayloadConfirm       = "optin_confirm"
	PayloadStopMarketing = "optin_stop_marketing"
)

// NewWording returns the wording for text with its hash.
func NewWording(kind, lang, text string) Wording {
	sum := sha256.Sum256([]byte(text))
	return Wording{Hash: hex.EncodeToString(sum[:]), Kind: kind, Lang: lang, Text: text}
}

// TruncateIP keeps the network part of an address (/24 for IPv4, /48 for
// IPv6): enough to show where a submission came from, not who made it.
func TruncateIP(ip string) string {
	p := net.ParseIP(strings.TrimSpace(ip))
	if p == nil {
		return ""
	}
	if v4 := p.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String() + "/24"
	}
	return p.Mask(net.CIDRMask(48, 128)).String() + "/48"
}

// Reason explains a Check answer.
type Reason string

// Check reasons (SPEC §3).
const (
	ReasonOptedIn         Reason = "opted_in"
	ReasonNoConsent       Reason = "no_consent"
	ReasonOptedOut        Reason = "opted_out"
	ReasonPending         Reason = "pending"
	ReasonUndeliverable   Reason = "undeliverable"
	ReasonUnknownContact  Reason = "unknown_contact"
	ReasonUnknownCategory Reason = "unknown_category"
)

// CheckResult answers "may I send this category to this number?".
type CheckResult struct {
	Allowed bool
	Reason  Reason
}

// Check tells whether category may be sent to the number phone. An invalid
// number is a *ValidationError.
//
// Numbers sent in E.164 already ("+4915112345678", as other systems store
// them) skip the phone library when a contact has exactly that number or
// wa_id: it was validated when the contact was stored, so the lookup is the
// validation. Any other input, and an E.164 number no contact has, is
// parsed and validated in full (about 20 µs) before it is answered.
func (s *Service) Check(ctx context.Context, phone, category string) (CheckResult, error) {
	cats, err := s.Categories(ctx, "en")
	if err != nil {
		return CheckResult{}, err
	}
	known := false
	for _, c := range cats {
		known = known || c.Slug == category
	}
	var status ContactStatus
	var state State
	found := false
	if known && isE164(phone) {
		status, state, err = s.store.ConsentFor(ctx, phone, category)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotFound):
			return CheckResult{}, err
		}
	}
	if !found {
		e164, err := ParsePhone(phone, s.cfg.DefaultRegion)
		if err != nil {
			return CheckResult{}, err
		}
		if !known {
			return CheckResult{Reason: ReasonUnknownCategory}, nil
		}
		if e164 == phone {
			return CheckResult{Reason: ReasonUnknownContact}, nil // looked up above
		}
		status, state, err = s.store.ConsentFor(ctx, e164, category)
		if errors.Is(err, ErrNotFound) {
			return CheckResult{Reason: ReasonUnknownContact}, nil
		}
		if err != nil {
			return CheckResult{}, err
		}
	}
	if status == Undeliverable {
		return CheckResult{Reason: ReasonUndeliverable}, nil
	}
	switch state {
	case OptedIn:
		return CheckResult{Allowed: status == Active, Reason: ReasonOptedIn}, nil
	case OptedOut:
		return CheckResult{Reason: ReasonOptedOut}, nil
	case Pending:
		return CheckResult{Reason: ReasonPending}, nil
	}
	return CheckResult{Reason: ReasonNoConsent}, nil
}

// isE164 reports whether p has E.164's shape: "+", a non-zero digit and 6
// to 14 more digits. The shape alone proves nothing about validity.
func isE164(p string) bool {
	if len(p) < 8 || len(p) > 16 || p[0] != '+' || p[1] == '0' {
		return false
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// ContactView is a contact with its consents.
type ContactView struct {
	Contact  Contact
	Consents []Consent
}

// Contact returns the contact for a number typed in any common format.
func (s *Service) Contact(ctx context.Context, phone string) (ContactView, error) {
	e164, err := ParsePhone(phone, s.cfg.DefaultRegion)
	if err != nil {
		return ContactView{}, err
	}
	c, err := s.store.ContactByPhone(ctx, e164)
	if err != nil {
		return ContactView{}, err
	}
	consents, err := s.store.Consents(ctx, c.ID)
	if err != nil {
		return ContactView{}, fmt.Errorf("consents of contact %d: %w", c.ID, err)
	}
	return ContactView{Contact: c, Consents: consents}, nil
}
