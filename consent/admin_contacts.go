package consent

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// ContactDetail is everything the admin console's contact page shows: the
// contact, its state per category, the timeline of events with the
// wordings they reference, and the messages exchanged.
type ContactDetail struct {
	Contact    Contact
	Categories []Category // every category, in order; Consents is keyed by slug
	Consents   map[string]Consent
	Events     []Event
	Wordings   map[string]Wording // by hash, for the events that reference one
	Inbound    []MessageIn
	Outbox     []OutboxEntry
}

// ContactDetail collects the contact page of contact id; ErrNotFound when
// there is no such contact (or it was erased).
func (s *Service) ContactDetail(ctx context.Context, id int64) (ContactDetail, error) {
	var d ContactDetail
	var err error
	if d.Contact, err = s.store.ContactByID(ctx, id); err != nil {
		return ContactDetail{}, err
	}
	if d.Categories, err = s.Categories(ctx, "en"); err != nil {
		return ContactDetail{}, err
	}
	consents, err := s.store.Consents(ctx, id)
	if err != nil {
		return ContactDetail{}, err
	}
	d.Consents = make(map[string]Consent, len(consents))
	for _, c := range consents {
		d.Consents[c.Category] = c
	}
	if d.Events, err = s.store.Events(ctx, id); err != nil {
		return ContactDetail{}, err
	}
	d.Wordings = map[string]Wording{}
	for _, e := range d.Events {
		if e.WordingHash == "" {
			continue
		}
		if _, ok := d.Wordings[e.WordingHash]; ok {
			continue
		}
		w, err := s.store.Wording(ctx, e.WordingHash)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return ContactDetail{}, err
		}
		d.Wordings[e.WordingHash] = w
	}
	if d.Inbound, err = s.store.ContactInbound(ctx, id); err != nil {
		return ContactDetail{}, err
	}
	if d.Outbox, err = s.store.ContactOutbox(ctx, id); err != nil {
		return ContactDetail{}, err
	}
	return d, nil
}

// AdminAct is who, as an admin, changes a contact, and from where.
type AdminAct struct {
	Email string
	IP    string
}

// Actor is how an admin's act is recorded in an event's evidence.
func (a AdminAct) Actor() string { return "admin:" + a.Email }

func (a AdminAct) evidence(action string) Evidence {
	return Evidence{Source: SourceAdmin, Actor: a.Actor(), IP: TruncateIP(a.IP),
		Detail: map[string]string{"action": action}}
}

// AdminOptOut opts contact id out of category, or of every category it is
// opted in to or pending for when category is empty, as the act of an
// admin (source admin, actor "admin:<email>"). Opting out of everything
// also cancels what is still queued for the contact, as a STOP does. It
// returns the categories that changed; none is not an error.
func (s *Service) AdminOptOut(ctx context.Context, id int64, category string, by AdminAct) ([]string, error) {
	if strings.TrimSpace(by.Email) == "" {
		return nil, errors.New("consent: admin opt-out without an admin")
	}
	if _, err := s.store.ContactByID(ctx, id); err != nil {
		return nil, err
	}
	var named []string
	action := "opt_out_all"
	if category != "" {
		cats, err := s.Categories(ctx, "en")
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(cats, func(c Category) bool { return c.Slug == category }) {
			return nil, &ValidationError{Fields: map[string]string{"category": "category.unknown"}}
		}
		named, action = []string{category}, "opt_out"
	}
	now := s.clock.Now()
	plan, err := s.store.Apply(ctx, id, func(snap Snapshot) (Plan, error) {
		t, err := Decide(snap.Consents, Act{Kind: ActOptOut, Categories: named})
		if err != nil || len(t) == 0 {
			return Plan{}, err
		}
		return Plan{At: now, Lang: "en", Evidence: by.evidence(action), Transitions: t, CancelQueued: category == ""}, nil
	})
	if err != nil {
		return nil, err
	}
	return Changed(plan.Transitions), nil
}

// EraseByAdmin erases contact id as the act of an admin, exactly as the
// other erasures do: the contact, its messages and the personal content of
// its events go; a tombstone (reason admin, actor "admin:<email>") and an
// erased event stay, and the ledger still verifies.
func (s *Service) EraseByAdmin(ctx context.Context, id int64, by AdminAct) error {
	if strings.TrimSpace(by.Email) == "" {
		return errors.New("consent: admin erasure without an admin")
	}
	c, err := s.store.ContactByID(ctx, id)
	if err != nil {
		return err
	}
	return s.erase(ctx, c, "admin", EventErased, SourceAdmin, by.Actor())
}
