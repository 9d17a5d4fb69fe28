package consent

import (
	"fmt"
	"slices"
	"strings"
)

// This file holds what the WhatsApp terms prompt says and offers: the
// categories of the person's entry point, each named (marketing ones said to
// be promotional), and three answers: accept all, choose one (a list
// message), or decline. What the person accepts is stored as the wording of
// the acceptance, exactly as it was shown.

// ButtonChooseTerms is the reply button of the terms prompt that opens the
// list of categories; RowTermsOnly prefixes the id of each row of that list
// ("optin_terms_only:order_updates").
const (
	ButtonChooseTerms = "optin_terms_choose"
	RowTermsOnly      = "optin_terms_only:"
)

// offered returns the categories of slugs in lang, in catalog order.
func (c catalog) offered(lang string, slugs []string) []Category {
	var out []Category
	for _, cat := range c.in(lang) {
		if slices.Contains(slugs, cat.Slug) {
			out = append(out, cat)
		}
	}
	return out
}

// canChoose reports whether the prompt offers a choice: there is more than
// one category, and all of them fit a list message.
func canChoose(offered []Category) bool {
	return len(offered) > 1 && len(offered) <= MaxListRows
}

// termsPrompt is the terms prompt naming the offered categories.
func (s *Service) termsPrompt(lang string, offered []Category) Message {
	body := s.termsBody(lang, offered, 0)
	if runes(body) > MaxInteractiveBody {
		// Many long names: each is cut as the list cuts it, which always fits.
		body = s.termsBody(lang, offered, MaxListRowTitle)
	}
	buttons := []Button{{ID: ButtonAcceptTerms, Title: s.t(lang, "mo.terms.accept")}}
	if canChoose(offered) {
		buttons = append(buttons, Button{ID: ButtonChooseTerms, Title: s.t(lang, "mo.terms.choose")})
	}
	buttons = append(buttons, Button{ID: ButtonDeclineTerms, Title: s.t(lang, "mo.terms.decline")})
	return Message{Kind: KindInteractive, Interactive: &Interactive{
		Body:    body,
		Footer:  s.t(lang, "mo.terms.footer"),
		Buttons: buttons,
	}}
}

// termsBody is the prompt's text, with the category names cut to limit
// characters when limit > 0.
func (s *Service) termsBody(lang string, offered []Category, limit int) string {
	lines := make([]string, 0, len(offered))
	for _, c := range offered {
		name := c.Name
		if limit > 0 {
			name = cut(name, limit)
		}
		if c.Marketing {
			name = s.t(lang, "mo.terms.promotional", name)
		}
		lines = append(lines, "• "+name)
	}
	return s.t(lang, "mo.terms.prompt", s.cfg.BusinessName, strings.Join(lines, "\n"), s.termsURL(lang))
}

// choosable are the offered categories the person may pick from the list:
// those not already opted in or waiting for confirmation.
func choosable(snap Snapshot, offered []Category) []Category {
	var out []Category
	for _, c := range offered {
		if !slices.ContainsFunc(snap.Consents, func(cs Consent) bool {
			return cs.Category == c.Slug && (cs.State == OptedIn || cs.State == Pending)
		}) {
			out = append(out, c)
		}
	}
	return out
}

// termsChoice is the list message "Choose" answers with: one row per
// category.
func (s *Service) termsChoice(lang string, cats []Category) Message {
	rows := make([]ListRow, 0, len(cats))
	for _, c := range cats {
		desc := cut(strings.Join(strings.Fields(c.Description), " "), MaxListRowDescription)
		if c.Marketing {
			desc = s.t(lang, "mo.terms.row.promotional")
		}
		rows = append(rows, ListRow{ID: RowTermsOnly + c.Slug, Title: cut(c.Name, MaxListRowTitle), Description: desc})
	}
	return Message{Kind: KindInteractive, Interactive: &Interactive{
		Body: s.t(lang, "mo.terms.choose.body", s.cfg.BusinessName),
		List: &List{Button: s.t(lang, "mo.terms.choose.button"), Sections: []ListSection{{Rows: rows}}},
	}}
}

// decideChoose answers "Choose" with the list, while the terms are pending
// or something offered is left to restore.
func (s *Service) decideChoose(snap Snapshot, lang string, cat catalog, p Plan) (Plan, error) {
	if snap.Contact.Status != PendingTerms && !somethingToRestore(snap) {
		return Plan{}, nil
	}
	offered := cat.offered(lang, snap.EntryCategories)
	rows := choosable(snap, offered)
	if !canChoose(offered) || len(rows) == 0 {
		return Plan{}, nil
	}
	p.Replies = []Reply{{"terms_choice", s.termsChoice(lang, rows)}}
	return p, nil
}

// termsWording is the wording of an acceptance: the prompt as shown (its
// text and its buttons) and the answer; for a choice, the list as shown and
// the row picked as well. slug is "" for "Accept all".
func (s *Service) termsWording(lang string, snap Snapshot, cat catalog, slug string) Wording {
	offered := cat.offered(lang, snap.EntryCategories)
	prompt := s.termsPrompt(lang, offered).Interactive
	var b strings.Builder
	writeShown(&b, prompt)
	if slug == "" {
		b.WriteString("\n→ " + prompt.Buttons[0].Title)
		return NewWording("terms", lang, b.String())
	}
	b.WriteString("\n→ " + s.t(lang, "mo.terms.choose") + "\n\n")
	list := s.termsChoice(lang, choosable(snap, offered)).Interactive
	writeShown(&b, list)
	for _, r := range list.List.Sections[0].Rows {
		if r.ID == RowTermsOnly+slug {
			b.WriteString("\n→ " + r.Title)
		}
	}
	return NewWording("terms", lang, b.String())
}

// writeShown writes an interactive message as the person saw it: its text,
// then its buttons, or the rows of its list.
func writeShown(b *strings.Builder, in *Interactive) {
	b.WriteString(in.Body)
	if in.Footer != "" {
		b.WriteString("\n" + in.Footer)
	}
	if in.List != nil {
		b.WriteString("\n[" + in.List.Button + "]")
		for _, sec := range in.List.Sections {
			for _, r := range sec.Rows {
				b.WriteString("\n• " + r.Title)
				if r.Description != "" {
					b.WriteString(" — " + r.Description)
				}
			}
		}
		return
	}
	b.WriteString("\n")
	for i, bt := range in.Buttons {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("[" + bt.Title + "]")
	}
}

// decideAccept records the acceptance and opts the person in to the entry
// point's categories, or to the one they picked (slug), with the prompt they
// answered as the wording. An acceptance that changes nothing (a second tap)
// records nothing; a pick of a category the entry point does not offer (a
// forged row id) records and answers nothing.
func (s *Service) decideAccept(snap Snapshot, m InboundMessage, lang string, cat catalog, p Plan, slug string) (Plan, error) {
	c := snap.Contact
	chosen := snap.EntryCategories
	if slug != "" {
		offered := cat.offered(lang, snap.EntryCategories)
		if !canChoose(offered) || !slices.ContainsFunc(choosable(snap, offered), func(c Category) bool { return c.Slug == slug }) {
			return Plan{}, nil
		}
		chosen = []string{slug}
	}
	t, err := Decide(snap.Consents, Act{Kind: ActOptIn, Categories: chosen, Target: OptedIn, InWhatsApp: true})
	if err != nil {
		return Plan{}, err
	}
	if c.Status != PendingTerms && len(t) == 0 {
		return Plan{}, nil
	}
	source := SourceWhatsAppReply
	if c.EntryValid {
		source = SourceLink
		if c.EntryVia == SourceQR {
			source = SourceQR
		}
	}
	w := s.termsWording(lang, snap, cat, slug)
	p.Wording = &w
	choice := "all"
	if slug != "" {
		choice = slug
	}
	p.Evidence = Evidence{Source: source, MessageID: m.ID, MessageText: m.Text, EntryPoint: c.EntryPoint,
		Detail: map[string]string{"button": m.ButtonID, "choice": choice, "entry_code_valid": fmt.Sprint(c.EntryValid), "replied_to": m.ContextID}}
	p.ContactEvent, p.Activate, p.Transitions = EventTermsAccepted, true, t
	if slug == "" {
		p.Replies = []Reply{{"terms_accepted", s.text(lang, "mo.terms.accepted", cat.names(lang, chosen), s.cfg.BusinessName)}}
	} else {
		p.Replies = []Reply{{"terms_accepted", s.text(lang, "mo.terms.chosen", cat.names(lang, chosen), s.cfg.BusinessName, LinkPlaceholder)}}
	}
	if c.Status == PendingTerms {
		p.CountEntry = EntryAccepted
	}
	return p, nil
}

// helpTopics lists, for HELP, the categories the contact has or was offered,
// each with the words that stop just it ("STOP Offers"), in lang; "" when
// there are none.
func (s *Service) helpTopics(lang string, snap Snapshot, cat catalog, aliases map[string][]string) string {
	var lines []string
	for _, c := range cat.in(lang) {
		has := slices.Contains(snap.EntryCategories, c.Slug) || slices.ContainsFunc(snap.Consents, func(cs Consent) bool {
			return cs.Category == c.Slug && (cs.State == OptedIn || cs.State == Pending)
		})
		if has {
			lines = append(lines, stopLine(c, aliases))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return s.t(lang, "mo.help.topics", strings.Join(lines, "\n"))
}

// stopLine is "• STOP <name>" when the keyword matcher reads the name as the
// category, else "• <name>: STOP <slug>" (two categories share the name).
func stopLine(c Category, aliases map[string][]string) string {
	if k := MatchKeyword("STOP "+c.Name, aliases); k.Kind == KeywordStop && k.Category == c.Slug {
		return "• STOP " + c.Name
	}
	return "• " + c.Name + ": STOP " + c.Slug
}

// cut shortens s to at most n characters, ending with "…" when cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
