package consent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ReceiptVersion is the Kantara Consent Receipt Specification version that
// receipts follow.
const ReceiptVersion = "KI-CR-v1.1.0"

// Fixed parts of every receipt: what optin collects, for how long, and who
// else sees it. WhatsApp messages pass through Meta, so disclosure is always
// true.
const (
	receiptPIICategory = "phone number"
	receiptTermination = "until withdrawn: reply STOP or use the preference link"
	receiptThirdParty  = "Meta Platforms (WhatsApp)"
)

// Receipt is a consent receipt in the fields of the Kantara Consent Receipt
// Specification v1.1, for one opt-in act: the opt-in events of one contact
// that share their time and source, such as one form submission choosing
// two categories. Its JSON is the receipt as the specification writes it.
type Receipt struct {
	Version          string `json:"version"`
	Jurisdiction     string `json:"jurisdiction"`     // "" : the settings name none
	ConsentTimestamp int64  `json:"consentTimestamp"` // epoch seconds
	CollectionMethod string `json:"collectionMethod"`
	// ConsentReceiptID is ReceiptID of the hash of the act's first event:
	// stable, and unguessable, so that it can serve as a bearer link.
	ConsentReceiptID string           `json:"consentReceiptID"`
	Language         string           `json:"language"`
	PIIPrincipalID   string           `json:"piiPrincipalId"` // E.164
	PIIControllers   []PIIController  `json:"piiControllers"`
	PolicyURL        string           `json:"policyUrl"`
	Services         []ReceiptService `json:"services"`
	Sensitive        bool             `json:"sensitive"`
	SPICat           []string         `json:"spiCat"`
	Extension        ReceiptExtension `json:"x-optin"`

	// Source and EntryPoint say how the consent was collected, for a page
	// that explains CollectionMethod in the reader's language.
	Source     Source `json:"-"`
	EntryPoint string `json:"-"`
	// WordingText is the text the person was shown and answered (the form's
	// wording, or the WhatsApp terms prompt with the choice made), for a
	// page; the JSON carries its hash.
	WordingText string `json:"-"`
}

// PIIController is the business that controls the phone number. Fields
// the settings leave empty are "".
type PIIController struct {
	PIIController    string         `json:"piiController"`
	OnBehalf         bool           `json:"onBehalf"`
	Contact          string         `json:"contact"`
	Address          ReceiptAddress `json:"address"`
	Email            string         `json:"email"`
	Phone            string         `json:"phone"`
	PIIControllerURL string         `json:"piiControllerUrl"`
}

// ReceiptAddress is a postal address.
type ReceiptAddress struct {
	StreetAddress  string `json:"streetAddress"`
	AddressCountry string `json:"addressCountry"`
}

// ReceiptService is a service the consent is given for.
type ReceiptService struct {
	Service  string           `json:"service"`
	Purposes []ReceiptPurpose `json:"purposes"`
}

// ReceiptPurpose is one category consented to.
type ReceiptPurpose struct {
	Purpose              string   `json:"purpose"`
	PurposeCategory      []string `json:"purposeCategory"` // "marketing" or "core function"
	ConsentType          string   `json:"consentType"`
	PIICategory          []string `json:"piiCategory"`
	PrimaryPurpose       bool     `json:"primaryPurpose"`
	Termination          string   `json:"termination"`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure"`
	ThirdPartyName       string   `json:"thirdPartyName"`

	Slug      string `json:"-"`
	Marketing bool   `json:"-"`
}

// ReceiptExtension ties a receipt to optin's ledger: the wording the person
// was shown and the hashes of the events it summarises.
type ReceiptExtension struct {
	WordingSHA256  string   `json:"wordingSha256"`
	WordingVersion int      `json:"wordingVersion"`
	EventHashes    []string `json:"eventHashes"`
}

// HashedEvent is an event with its ledger hash.
type HashedEvent struct {
	Event
	Hash string
}

// ReceiptStore reads what receipts are made of.
type ReceiptStore interface {
	// ConsentEvents returns the opt_in and confirm events of a contact with
	// their hashes, in ledger order.
	ConsentEvents(ctx context.Context, contactID int64) ([]HashedEvent, error)
	ContactByID(ctx context.Context, id int64) (Contact, error)
	Wording(ctx context.Context, hash string) (Wording, error)
}

// ReceiptID derives a receipt's id from the ledger hash of its first event:
// the first 32 hex digits of SHA-256("receipt:" + hash).
func ReceiptID(eventHash string) string {
	sum := sha256.Sum256([]byte("receipt:" + eventHash))
	return hex.EncodeToString(sum[:])[:32]
}

// Receipts returns a receipt for every opt-in act of the contact, oldest
// first. Only events that led to opted_in count: a pending double opt-in is
// no consent yet, and its confirmation gets the receipt.
func (s *Service) Receipts(ctx context.Context, contactID int64) ([]Receipt, error) {
	c, err := s.store.ContactByID(ctx, contactID)
	if err != nil {
		return nil, err
	}
	events, err := s.store.ConsentEvents(ctx, contactID)
	if err != nil {
		return nil, fmt.Errorf("consent events of contact %d: %w", contactID, err)
	}
	type act struct {
		at     time.Time
		source Source
		events []HashedEvent
		words  string
	}
	var acts []*act
	lastWording := map[string]string{} // category → wording of its latest opt-in
	for _, e := range events {
		wording := e.WordingHash
		if wording == "" {
			wording = lastWording[e.Category] // a confirmation confirms the wording of its opt-in
		} else {
			lastWording[e.Category] = wording
		}
		if e.State != OptedIn {
			continue
		}
		if n := len(acts); n > 0 && acts[n-1].at.Equal(e.OccurredAt) && acts[n-1].source == e.Evidence.Source {
			acts[n-1].events = append(acts[n-1].events, e)
			continue
		}
		acts = append(acts, &act{at: e.OccurredAt, source: e.Evidence.Source, events: []HashedEvent{e}, words: wording})
	}
	out := make([]Receipt, 0, len(acts))
	for _, a := range acts {
		r, err := s.receipt(ctx, c, a.events, a.words)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Receipt returns the contact's receipt with the id receiptID, or
// ErrNotFound. Receipts are reached through the person's preference link,
// so finding one never means scanning other people's events.
func (s *Service) Receipt(ctx context.Context, contactID int64, receiptID string) (Receipt, error) {
	receipts, err := s.Receipts(ctx, contactID)
	if err != nil {
		return Receipt{}, err
	}
	for _, r := range receipts {
		if r.ConsentReceiptID == receiptID {
			return r, nil
		}
	}
	return Receipt{}, ErrNotFound
}

// receipt builds the receipt of one act, whose events share time and source.
func (s *Service) receipt(ctx context.Context, c Contact, events []HashedEvent, wordingHash string) (Receipt, error) {
	first := events[0]
	lang := first.Lang
	if lang == "" {
		lang = c.Language
	}
	cats, err := s.Categories(ctx, lang)
	if err != nil {
		return Receipt{}, err
	}
	byslug := map[string]Category{}
	for _, cat := range cats {
		byslug[cat.Slug] = cat
	}
	st := s.settings()
	r := Receipt{
		Version:          ReceiptVersion,
		Jurisdiction:     st.Jurisdiction,
		ConsentTimestamp: first.OccurredAt.Unix(),
		CollectionMethod: CollectionMethod(first.Evidence.Source, first.Evidence.EntryPoint),
		ConsentReceiptID: ReceiptID(first.Hash),
		Language:         lang,
		PIIPrincipalID:   c.Phone,
		PIIControllers: []PIIController{{
			PIIController:    s.cfg.BusinessName,
			Contact:          st.ControllerContact,
			Address:          ReceiptAddress{StreetAddress: st.ControllerAddress, AddressCountry: st.ControllerCountry},
			Email:            st.ControllerEmail,
			Phone:            s.cfg.BusinessNumber,
			PIIControllerURL: s.cfg.BaseURL,
		}},
		PolicyURL:  s.cfg.BaseURL + "/terms",
		Sensitive:  false,
		SPICat:     []string{},
		Source:     first.Evidence.Source,
		EntryPoint: first.Evidence.EntryPoint,
	}
	svc := ReceiptService{Service: "WhatsApp messages from " + s.cfg.BusinessName}
	// The primary purpose is the one optin exists for: the first
	// non-marketing category, or the first one when all are marketing.
	primary := -1
	for _, e := range events {
		cat, ok := byslug[e.Category]
		if !ok {
			cat = Category{Slug: e.Category, Name: e.Category}
		}
		kind := "core function"
		if cat.Marketing {
			kind = "marketing"
		}
		if primary < 0 && !cat.Marketing {
			primary = len(svc.Purposes)
		}
		svc.Purposes = append(svc.Purposes, ReceiptPurpose{
			Purpose: cat.Name, PurposeCategory: []string{kind}, ConsentType: "EXPLICIT",
			PIICategory: []string{receiptPIICategory}, Termination: receiptTermination,
			ThirdPartyDisclosure: true, ThirdPartyName: receiptThirdParty,
			Slug: cat.Slug, Marketing: cat.Marketing,
		})
		r.Extension.EventHashes = append(r.Extension.EventHashes, e.Hash)
	}
	if primary < 0 {
		primary = 0
	}
	svc.Purposes[primary].PrimaryPurpose = true
	r.Services = []ReceiptService{svc}
	if wordingHash != "" {
		w, err := s.store.Wording(ctx, wordingHash)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Receipt{}, fmt.Errorf("wording of receipt: %w", err)
		}
		r.Extension.WordingSHA256, r.Extension.WordingVersion = wordingHash, w.Version
		r.WordingText = w.Text
	}
	return r, nil
}

// CollectionMethod says in English how a consent reached optin, for the
// receipt's collectionMethod.
func CollectionMethod(src Source, entryPoint string) string {
	switch src {
	case SourceWebForm:
		return "web form"
	case SourceEmbed:
		return "web form embedded on the business's website"
	case SourceLink, SourceQR, SourceWhatsAppReply:
		if entryPoint != "" {
			return "WhatsApp message via entry point " + entryPoint
		}
		return "WhatsApp message"
	case SourceKeyword:
		return "WhatsApp keyword"
	case SourcePreferenceCenter:
		return "preference center"
	case SourceAdmin:
		return "recorded by an administrator"
	case SourceAPI:
		return "the business's system, through optin's API"
	case SourceImport:
		return "import of earlier consents"
	case SourceProvider:
		return "WhatsApp marketing preferences, reported by Meta"
	}
	return string(src)
}
